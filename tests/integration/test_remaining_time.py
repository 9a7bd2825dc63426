"""The function consults its remaining time: no object is started under the margin, and the
invocation ends as a transient failure so that the retry finishes (issue 18)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

import pytest

import app
from scripts.support.sample_images import encode, photo
from tests.conftest import FakeLambdaContext
from tests.integration.conftest import event_of
from tests.integration.test_batch_operations import batch_event
from tests.integration.test_queued_handler import queued  # noqa: F401 - a fixture
from thumbnailer.deadline import (
    S3_ALLOWANCE_MS,
    SLOWEST_OBJECT_CPU_MS,
    START_MARGIN_MS,
    start_margin_ms,
)
from thumbnailer.errors import TransientError

JPEG = encode(photo(600, 400), "JPEG")
FIRST, SECOND = "uploads/late/first.jpg", "uploads/late/second.jpg"


@dataclass
class RunningOut(FakeLambdaContext):
    """Just under the margin all along (an invocation's first object starts whatever the time)."""

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return START_MARGIN_MS - 1


def thumbnails_of(stack, name: str) -> list[str]:
    return [key for key in stack.output_keys() if key.startswith(f"late/{name}_")]


def test_a_notification_starts_no_object_under_the_margin_and_is_retried(stack, lambda_context):
    # GIVEN a notification of two uploads, and the time left falling under the margin
    event = event_of(stack.upload(FIRST, JPEG), stack.upload(SECOND, JPEG))
    # WHEN handled
    with pytest.raises(TransientError, match=r"second\.jpg: not started"):
        app.lambda_handler(event, RunningOut())
    # THEN the first was made whole, the second not begun (no partial set)
    assert len(thumbnails_of(stack, "first")) == 2
    assert thumbnails_of(stack, "second") == []
    # AND Lambda's retry, with time, finishes the set
    result = app.lambda_handler(event, lambda_context)
    assert [o["status"] for o in result["outcomes"]] == ["ignored", "written"]


def test_an_sqs_batch_reports_the_unstarted_messages_as_failures(stack, queued):  # noqa: F811
    # GIVEN a batch of two messages, and the time left falling under the margin
    bodies = [event_of(stack.upload(key, JPEG)) for key in (FIRST, SECOND)]
    batch, message_ids = queued(*bodies)
    # WHEN handled
    response = app.lambda_handler(batch, RunningOut())
    # THEN exactly the unstarted message comes back; the first one's set is whole
    assert response == {"batchItemFailures": [{"itemIdentifier": message_ids[1]}]}
    started = json.loads(batch["Records"][0]["body"])["Records"][0]["s3"]["object"]["key"]
    assert len(thumbnails_of(stack, started.rsplit("/", 1)[1][:-4])) == 2


def test_batch_operations_tasks_not_started_are_temporary_failures(stack):
    # GIVEN a Batch Operations invocation of two tasks, and the time left falling short
    for key in (FIRST, SECOND):
        stack.s3.put_object(Bucket=stack.input_bucket, Key=key, Body=JPEG)
    event = batch_event("2.0", stack.input_bucket, FIRST)
    second = copy.deepcopy(event["tasks"][0]) | {"taskId": "second", "s3Key": SECOND}
    event["tasks"].append(second)
    # WHEN handled
    results = app.lambda_handler(event, RunningOut())["results"]
    # THEN the first succeeded; the second is a TemporaryFailure the job retries
    assert [r["resultCode"] for r in results] == ["Succeeded", "TemporaryFailure"]
    assert "not started" in results[1]["resultString"]
    assert thumbnails_of(stack, "second") == []


@dataclass
class TenSecondsLeft(FakeLambdaContext):
    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return 10_000


@pytest.mark.parametrize(("memory_mb", "second_started"), [(1024, True), (512, False)])
def test_the_margin_grows_as_memory_and_so_cpu_shrink(stack, memory_mb, second_started):
    # GIVEN a notification of two uploads and 10 s left, at 1,024 MB (margin 7.2 s) or at
    # 512 MB (less than a third of a vCPU: margin 12.4 s)
    assert start_margin_ms(1024) < 10_000 < start_margin_ms(512)
    event = event_of(stack.upload(FIRST, JPEG), stack.upload(SECOND, JPEG))
    context = TenSecondsLeft(memory_limit_in_mb=memory_mb)
    # WHEN handled / THEN the second upload is started only where 10 s is enough
    if second_started:
        app.lambda_handler(event, context)
    else:
        with pytest.raises(TransientError, match=r"second\.jpg: not started"):
            app.lambda_handler(event, context)
    assert bool(thumbnails_of(stack, "second")) is second_started


def test_the_margin_stops_shrinking_at_a_whole_vcpu():
    # GIVEN memories from a fraction of a vCPU to several / THEN the margin falls, then holds
    margins = [start_margin_ms(memory) for memory in (128, 512, 1024, 1769, 3008, 10240)]
    assert margins == sorted(margins, reverse=True)
    assert margins[3] == margins[4] == margins[5] == SLOWEST_OBJECT_CPU_MS + S3_ALLOWANCE_MS

"""Reading a source, end to end against moto: an object over the size limit is a bad object
(refused from the event's size, or from GetObject's length), and a connection that fails or
times out is the world failing (retried), never a bad object."""

import dataclasses
import re
from types import SimpleNamespace

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, EndpointConnectionError, ReadTimeoutError

import app
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import event_of
from tests.integration.test_batch_operations import batch_event
from thumbnailer.errors import TransientError
from thumbnailer.storage import ObjectStore, aws_client

JPEG = encode(photo(600, 400), "JPEG")
KEY = "uploads/big/photo.jpg"
#: The limit on an upload's bytes that docs/behaviour.md states.
LIMIT = 64 * 1024 * 1024


def test_an_upload_the_event_says_is_over_64_mib_is_refused_unread(stack, lambda_context, reads):
    # GIVEN an event for an object of 64 MiB and a byte
    record = stack.upload(KEY, JPEG)
    record["s3"]["object"]["size"] = LIMIT + 1

    # WHEN handled
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN it is a bad object, refused before any byte was read: one DLQ record, no output
    assert [(o["status"], o["reason"]) for o in result["outcomes"]] == [
        ("rejected", "object_too_large")
    ]
    assert reads == []
    assert stack.output_keys() == []
    [dead] = stack.dead_letters()
    assert (dead["key"], dead["reason"], dead["size"], dead["retryable"]) == (
        KEY,
        "object_too_large",
        LIMIT + 1,
        False,
    )
    assert str(LIMIT) in dead["message"]


def test_an_object_heads_says_is_over_the_limit_fails_its_batch_task_for_good(
    stack, lambda_context, monkeypatch, reads
):
    # GIVEN a function whose limit is below the object's size, and a Batch Operations task
    # (which names no size: HeadObject tells it)
    monkeypatch.setattr(app, "SETTINGS", dataclasses.replace(app.SETTINGS, max_input_bytes=1024))
    stack.s3.put_object(Bucket=stack.input_bucket, Key=KEY, Body=JPEG)

    # WHEN the task runs
    response = app.lambda_handler(batch_event("2.0", stack.input_bucket, KEY), lambda_context)

    # THEN it fails for good with the reason, unread; the job's report is its only record
    [result] = response["results"]
    assert result["resultCode"] == "PermanentFailure"
    assert result["resultString"].startswith("object_too_large: ")
    assert reads == []
    assert stack.output_keys() == []
    assert stack.dead_letters() == []


def test_an_object_getobject_says_is_over_the_limit_is_refused(stack, lambda_context, monkeypatch):
    # GIVEN a function whose limit is below the object's size, and an event that names no size
    # (not every producer does: replays, emulators), so only GetObject's length can tell
    monkeypatch.setattr(app, "SETTINGS", dataclasses.replace(app.SETTINGS, max_input_bytes=1024))
    record = stack.upload(KEY, JPEG)
    del record["s3"]["object"]["size"]

    # WHEN handled
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN it is a bad object with one DLQ record, and nothing was written
    assert result["outcomes"][0]["reason"] == "object_too_large"
    assert stack.output_keys() == []
    [dead] = stack.dead_letters()
    assert (dead["key"], dead["reason"], dead["size"]) == (KEY, "object_too_large", None)
    assert f"the object has {len(JPEG)} bytes; the limit is 1024 bytes" in dead["message"]


FAULTS = [
    ("GetObject", ReadTimeoutError(endpoint_url="https://s3.us-east-1.amazonaws.com")),
    ("HeadObject", EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")),
    ("PutObject", ReadTimeoutError(endpoint_url="https://s3.us-east-1.amazonaws.com")),
]


def fail_every(client, operation: str, exc: BotoCoreError) -> list[str]:
    """Make every `operation` of `client` fail with `exc` before it is sent (a botocore hook);
    return the list each attempt is appended to."""
    attempts: list[str] = []

    def fail(**kwargs):
        attempts.append(operation)
        raise exc

    client.meta.events.register(f"before-send.s3.{operation}", fail)
    return attempts


@pytest.fixture
def backoffs(monkeypatch) -> list[float]:
    """botocore's back-offs between its own retries, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=slept.append))
    return slept


@pytest.mark.parametrize(("operation", "exc"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_timeout_or_lost_connection_raises_so_lambda_retries(
    stack, lambda_context, backoffs, operation, exc
):
    # GIVEN an upload, and S3 that times out or cannot be reached for one kind of request
    record = stack.upload(KEY, JPEG)
    attempts = fail_every(aws_client("s3"), operation, exc)

    # WHEN handled / THEN the handler raises (Lambda retries the event), naming the request
    expected = f"S3 {operation} s3://[^ ]+ failed: {re.escape(str(exc))}"
    with pytest.raises(TransientError, match=expected):
        app.lambda_handler(event_of(record), lambda_context)
    # (after botocore's own retries, each after a back-off)
    assert len(attempts) > 1
    assert len(backoffs) == len(attempts) - 1
    # AND it was not taken for a bad object: no DLQ record
    assert stack.dead_letters() == []


@pytest.mark.parametrize(
    "exc",
    [
        ReadTimeoutError(endpoint_url="https://s3.us-east-1.amazonaws.com"),
        EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_botocores_own_errors_become_transient_errors_in_storage(stack, exc):
    # GIVEN an object, and a client (without retries) whose GetObject fails in botocore
    stack.s3.put_object(Bucket=stack.input_bucket, Key=KEY, Body=JPEG)
    client = boto3.client("s3", config=Config(retries={"max_attempts": 1}))
    fail_every(client, "GetObject", exc)

    # WHEN read through the store
    with pytest.raises(TransientError) as caught:
        ObjectStore(client).read(stack.input_bucket, KEY, max_bytes=LIMIT)

    # THEN the store's own error says which request failed, with botocore's as its cause
    assert str(caught.value) == f"S3 GetObject s3://{stack.input_bucket}/{KEY} failed: {exc}"
    assert caught.value.__cause__ is exc

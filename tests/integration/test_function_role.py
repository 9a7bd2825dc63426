"""The function's execution role, proven by running: the real handler under exactly the role
the template gives it, in moto with IAM enforcement on (scripts/local/execution_role.py).

For each deployment shape, the role's inline policies are synthesized from iac/template.yaml
(SAM transform included), resolved for the local resources, created in moto and assumed. Then
every path the function has in that shape runs with the role's credentials: its own calls, and
the calls Lambda makes with the same role (the event source mapping's SQS calls, the delivery of
a failed event to the DLQ).

Sufficiency: with the whole role, every path does what it should and nothing is denied.
Necessity: without any one statement (or one action of a statement), some path is denied that
very action.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import boto3
import botocore.session
import pytest
from moto import mock_aws
from moto.core.authorization import disable_iam_authentication

import app
from scripts.local import execution_role
from scripts.local.event_source import EventSourceMapping
from scripts.local.execution_role import DENIALS, Statement
from scripts.local.invoker import send_to_dead_letter_queue
from scripts.support.sample_images import encode, photo
from tests.conftest import INPUT_BUCKET, FakeLambdaContext
from tests.integration.conftest import Stack, event_of
from tests.integration.templates import APP_TEMPLATE, load
from tests.integration.test_batch_operations import batch_event
from tests.integration.test_duplicates_and_deletes import removed
from thumbnailer.errors import TransientError
from thumbnailer.keys import planned_keys
from thumbnailer.settings import Settings
from thumbnailer.storage import aws_client

ACCOUNT = execution_role.ACCOUNT_ID
OUTPUT_BUCKET = os.environ["OUTPUT_BUCKET"]
DLQ_NAME = os.environ["DLQ_URL"].rsplit("/", 1)[1]
TOPIC_NAME = "thumbs-notifications"
INGEST_QUEUE = "thumbs-ingest"
FAILED_EVENT_QUEUE = "thumbs-failed-events"
PNG = encode(photo(96, 64), "PNG")
SYNC_DELETES_DEFAULT = load(APP_TEMPLATE)["Parameters"]["SyncDeletes"]["Default"]

#: The deployment shapes whose roles differ: the defaults; deletes and notifications (both
#: add statements); queued ingestion (adds the event source mapping's statement); every
#: rendition, with deletes (more keys written and deleted, a manifest read back on a delete).
SHAPES: dict[str, dict[str, str]] = {
    "defaults": {},
    "sync-deletes-notifications": {"SyncDeletes": "true", "EnableNotifications": "true"},
    "queue": {"IngestMode": "queue", "SyncDeletes": "false"},
    "renditions": {
        "OutputFormats": "webp,avif",
        "CropSizes": "256x256",
        "WriteManifest": "true",
        "SyncDeletes": "true",
    },
    "manifest-without-sync-deletes": {"WriteManifest": "true", "SyncDeletes": "false"},
}


def local_resources() -> dict[str, str]:
    """What Ref and Fn::GetAtt to the stack's resources resolve to in moto."""
    sqs_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}"
    return {
        "InputBucketName": INPUT_BUCKET,
        "OutputBucket": OUTPUT_BUCKET,
        "OutputBucket.Arn": f"arn:aws:s3:::{OUTPUT_BUCKET}",
        "DeadLetterQueue": os.environ["DLQ_URL"],
        "DeadLetterQueue.Arn": f"{sqs_arn}:{DLQ_NAME}",
        "IngestQueue.Arn": f"{sqs_arn}:{INGEST_QUEUE}",
        "FailedEventQueue": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{FAILED_EVENT_QUEUE}",
        "FailedEventQueue.Arn": f"{sqs_arn}:{FAILED_EVENT_QUEUE}",
        "NotificationTopic": f"arn:aws:sns:us-east-1:{ACCOUNT}:{TOPIC_NAME}",
    }


def role_policies(parameters: dict[str, str]) -> list[dict[str, Any]]:
    return execution_role.function_role_policies(
        {"InputBucketName": INPUT_BUCKET, **parameters}, local_resources()
    )


def function_settings(parameters: dict[str, str]) -> Settings:
    """The function's settings in this shape: its environment as the template sets it."""
    environment = execution_role.function_environment(
        {"InputBucketName": INPUT_BUCKET, **parameters}, local_resources()
    )
    return Settings.from_env({**os.environ, **environment})


POLICIES = {shape: role_policies(parameters) for shape, parameters in SHAPES.items()}


class InProcessFunction:
    """The event source mapping's invoke, in this process (see LambdaInvoker.attempt)."""

    @staticmethod
    def attempt(event_json: str) -> tuple[dict[str, Any] | None, str]:
        try:
            response = app.lambda_handler(json.loads(event_json), FakeLambdaContext())
        except Exception as exc:  # noqa: BLE001 - Lambda reports a failed invocation the same
            return None, f"{type(exc).__name__}: {exc}"
        return {"response": response, "duration_ms": 0.0, "max_rss_kb": None}, ""


@dataclass
class World:
    """The resources of every shape, in moto: the shapes differ in the role and the delivery."""

    stack: Stack
    topic_arn: str
    iam: Any
    sts: Any
    runs: Iterator[int] = field(default_factory=count)
    #: The function's boto3 session, whose credentials are the role's (one for the module:
    #: service models are loaded once).
    credentials: botocore.session.Session = field(default_factory=botocore.session.get_session)

    def __post_init__(self) -> None:
        self.session = boto3.Session(botocore_session=self.credentials)


@dataclass
class Harness:
    """One shape's stack in moto, and the function running under a role made from `policies`."""

    shape: str
    world: World
    run: str

    @property
    def parameters(self) -> dict[str, str]:
        return SHAPES[self.shape]

    @property
    def stack(self) -> Stack:
        return self.world.stack

    @property
    def queued(self) -> bool:
        return self.parameters.get("IngestMode") == "queue"

    @property
    def ingest_url(self) -> str:
        return f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{INGEST_QUEUE}"

    def grant(self, policies: list[dict[str, Any]], role: str = "ThumbnailFunctionRole") -> None:
        """Calls `as_function` are made by `role`, holding exactly `policies` from now on."""
        credentials = execution_role.assume_role(self.world.iam, self.world.sts, role, policies)
        self.world.credentials.set_credentials(
            credentials["AWS_ACCESS_KEY_ID"],
            credentials["AWS_SECRET_ACCESS_KEY"],
            credentials["AWS_SESSION_TOKEN"],
        )

    @contextmanager
    def as_function(self) -> Iterator[None]:
        """Calls inside are the function's (or Lambda's for it): the role's, enforced."""
        default_session = boto3.DEFAULT_SESSION
        boto3.DEFAULT_SESSION = self.world.session
        aws_client.cache_clear()
        app.thumbnail_service.cache_clear()
        try:
            with execution_role.enforce():
                yield
        finally:
            boto3.DEFAULT_SESSION = default_session
            aws_client.cache_clear()
            app.thumbnail_service.cache_clear()

    def deliver(self, event: dict[str, Any]) -> list[dict[str, Any]] | None:
        """An S3 notification, delivered as this shape delivers it; the outcomes if direct.

        Raises if the function failed: in direct mode its error, with a queue a failed batch.
        """
        if not self.queued:
            with self.as_function():
                return app.lambda_handler(event, FakeLambdaContext())["outcomes"]
        # S3 sends to the ingest queue with its own service principal (the queue's policy).
        self.stack.sqs.send_message(QueueUrl=self.ingest_url, MessageBody=json.dumps(event))
        batches: list[Any] = []
        stop = threading.Event()
        with self.as_function():
            mapping = EventSourceMapping(
                aws_client("sqs"),
                self.ingest_url,
                InProcessFunction(),  # type: ignore[arg-type]
                on_batch=lambda batch: (batches.append(batch), stop.set()),
            )
            timer = threading.Timer(10, stop.set)
            timer.start()
            try:
                mapping.run(stop)
            finally:
                timer.cancel()
        [batch] = batches
        assert not any(message.failed for message in batch.messages), batch.error
        return None

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with self.as_function():
            return app.lambda_handler(event, FakeLambdaContext())


# --- the paths: each raises (or leaves a denial) when the function cannot do its job ----------


def thumbnails_of(key: str) -> list[str]:
    """Every key the shape's function writes for an upload: renditions, and manifest if any."""
    settings = app.SETTINGS
    return planned_keys(
        key.removeprefix(settings.input_prefix),
        widths=settings.thumb_widths,
        formats=settings.output_formats,
        crops=settings.crop_sizes,
        manifest=settings.write_manifest,
    )


def a_good_upload_then_its_duplicate(h: Harness, run: str) -> None:
    key = f"uploads/{run}/good.png"
    record = h.stack.upload(key, PNG)
    outcomes = h.deliver(event_of(record))
    assert outcomes is None or outcomes[0]["status"] == "written", outcomes
    assert set(thumbnails_of(key)) <= set(h.stack.output_keys())
    outcomes = h.deliver(event_of(record))
    assert outcomes is None or outcomes[0]["reason"] == "up_to_date", outcomes


def a_bad_upload(h: Harness, run: str) -> None:
    key = f"uploads/{run}/bad.png"
    outcomes = h.deliver(event_of(h.stack.upload(key, b"not an image")))
    assert outcomes is None or outcomes[0]["status"] == "rejected", outcomes
    assert key in [record.get("key") for record in h.stack.dead_letters()]


def an_upload_deleted_before_processing(h: Harness, run: str) -> None:
    key = f"uploads/{run}/gone.png"
    record = h.stack.upload(key, PNG)
    h.stack.s3.delete_object(Bucket=INPUT_BUCKET, Key=key)
    outcomes = h.deliver(event_of(record))
    assert outcomes is None or outcomes[0]["reason"] == "object_missing", outcomes


def a_deleted_original(h: Harness, run: str) -> None:
    key = f"uploads/{run}/deleted.png"
    record = h.stack.upload(key, PNG)
    h.deliver(event_of(record))
    h.stack.s3.delete_object(Bucket=INPUT_BUCKET, Key=key)
    outcomes = h.deliver(event_of(removed(record, sequencer="FFFFFFFFFFFFFFFFFF")))
    assert outcomes is None or outcomes[0]["status"] == "deleted", outcomes
    assert not set(thumbnails_of(key)) & set(h.stack.output_keys())


def a_late_delete_of_a_replaced_upload(h: Harness, run: str) -> None:
    # A delete whose key has an object again is followed to the current object (issue 18).
    key = f"uploads/{run}/replaced.png"
    record = h.stack.upload(key, PNG)
    h.stack.s3.delete_object(Bucket=INPUT_BUCKET, Key=key)
    h.deliver(event_of(h.stack.upload(key, encode(photo(64, 96), "PNG"))))
    outcomes = h.deliver(event_of(removed(record, sequencer="00")))
    assert outcomes is None or outcomes[0]["reason"] == "source_exists", outcomes
    assert set(thumbnails_of(key)) <= set(h.stack.output_keys())


def a_batch_operations_task(h: Harness, run: str) -> None:
    key = f"uploads/{run}/batch.png"
    h.stack.upload(key, PNG)
    [result] = h.invoke(batch_event("2.0", INPUT_BUCKET, key))["results"]
    assert result["resultCode"] == "Succeeded", result


def lambda_delivering_a_failed_event(h: Harness, run: str) -> None:
    event = event_of(h.stack.upload(f"uploads/{run}/failed.png", PNG))
    queue = h.stack.failed_event_queue_url
    with h.as_function():
        send_to_dead_letter_queue(aws_client("sqs"), queue, json.dumps(event), "boom")
    messages = h.stack.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert event in [json.loads(message["Body"]) for message in messages]


Path = Callable[[Harness, str], None]


def paths(parameters: dict[str, str]) -> list[Path]:
    every = [
        a_good_upload_then_its_duplicate,
        a_bad_upload,
        an_upload_deleted_before_processing,
        a_batch_operations_task,
        lambda_delivering_a_failed_event,
    ]
    syncs_deletes = parameters.get("SyncDeletes", SYNC_DELETES_DEFAULT) == "true"
    deletes = [a_deleted_original, a_late_delete_of_a_replaced_upload]
    return every + (deletes if syncs_deletes else [])


@dataclass(frozen=True)
class Failure:
    path: str
    error: str
    denials: tuple[execution_role.Denial, ...]

    def __str__(self) -> str:
        denied = "".join(f"\n    {denial}" for denial in self.denials)
        return f"{self.path}: {self.error or 'succeeded, but'}{denied}"


def report(failures: list[Failure]) -> str:
    return "\n".join(str(failure) for failure in failures)


def run_every_path(h: Harness, every: list[Path] | None = None) -> list[Failure]:
    """Every path of the shape (or `every`), with fresh keys; what failed, what was denied."""
    failures = []
    for path in paths(h.parameters) if every is None else every:
        DENIALS.clear()
        error = ""
        try:
            path(h, h.run)
        except Exception as exc:  # noqa: BLE001 - collected, the other paths still run
            error = f"{type(exc).__name__}: {exc}"
        if error or DENIALS:
            failures.append(Failure(path.__name__, error, tuple(DENIALS)))
    DENIALS.clear()
    return failures


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws(), disable_iam_authentication():
        s3, sqs, sns = boto3.client("s3"), boto3.client("sqs"), boto3.client("sns")
        s3.create_bucket(Bucket=INPUT_BUCKET)
        s3.put_bucket_versioning(Bucket=INPUT_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.create_bucket(Bucket=OUTPUT_BUCKET)
        # Messages once received stay hidden for the rest of the module: no run sees another's.
        hidden = {"VisibilityTimeout": "3600"}
        dlq_url = sqs.create_queue(QueueName=DLQ_NAME, Attributes=hidden)["QueueUrl"]
        failed = sqs.create_queue(QueueName=FAILED_EVENT_QUEUE, Attributes=hidden)["QueueUrl"]
        sqs.create_queue(QueueName=INGEST_QUEUE, Attributes=hidden)
        topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        stack = Stack(s3=s3, sqs=sqs, dlq_url=dlq_url, failed_event_queue_url=failed)
        yield World(stack, topic_arn, boto3.client("iam"), boto3.client("sts"))


@pytest.fixture
def harness(world: World, shape: str, monkeypatch) -> Harness:
    """The test's `shape`: the function configured for it, its keys fresh (runs share a world)."""
    monkeypatch.setattr(app, "SETTINGS", function_settings(SHAPES[shape]))
    return Harness(shape, world, f"run{next(world.runs)}")


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_path_passes_under_the_role_the_template_gives(harness: Harness) -> None:
    # GIVEN the function's role exactly as the template and SAM make it for this shape
    harness.grant(POLICIES[harness.shape])

    # WHEN every path runs under it, with IAM enforced
    failures = run_every_path(harness)

    # THEN each does its job and nothing is denied
    assert not failures, report(failures)


def necessity_cases(policies_by_shape: dict[str, list[dict[str, Any]]]) -> Iterator[Any]:
    """(shape, statement, action): each statement, and each action of a multi-action one."""
    for shape, policies in policies_by_shape.items():
        for statement in execution_role.statements_of(policies):
            yield pytest.param(shape, statement, None, id=f"{shape}:{statement.name}")
            if len(statement.actions) > 1:
                for action in statement.actions:
                    yield pytest.param(
                        shape, statement, action, id=f"{shape}:{statement.name}:{action}"
                    )


#: "Sid" or "Sid:action" -> why no path here needs it. Empty: every statement is needed. A
#: statement kept for a path no test can run goes here, justified as in the template.
NOT_EXERCISED: dict[str, str] = {}


@pytest.mark.parametrize(("shape", "statement", "action"), list(necessity_cases(POLICIES)))
def test_every_statement_is_needed_by_some_path(
    harness: Harness, statement: Statement, action: str | None
) -> None:
    name = ":".join(filter(None, [statement.body.get("Sid"), action]))
    if name in NOT_EXERCISED:
        pytest.skip(f"{name}: {NOT_EXERCISED[name]}")
    # GIVEN the role without that one statement (or without that one action of it)
    harness.grant(execution_role.without(POLICIES[harness.shape], statement, action))

    # WHEN every path runs under it
    failures = run_every_path(harness)

    # THEN some path is denied exactly what was taken away, and fails
    taken = [action] if action else statement.actions
    denied = {denial.action for failure in failures for denial in failure.denials}
    assert denied & set(taken), f"no path needs {taken} of {statement.name}:\n{report(failures)}"


@pytest.mark.parametrize("shape", ["defaults"])
def test_without_list_bucket_a_deleted_upload_is_a_403_and_is_retried(harness: Harness) -> None:
    # GIVEN the role without s3:ListBucket on the input bucket, and an upload deleted before
    # its event is processed
    policies = POLICIES["defaults"]
    [listing] = [
        s for s in execution_role.statements_of(policies) if s.name.endswith("ListUploads")
    ]
    harness.grant(execution_role.without(policies, listing))
    key = f"uploads/{harness.run}/gone.png"
    record = harness.stack.upload(key, PNG)
    harness.stack.s3.delete_object(Bucket=INPUT_BUCKET, Key=key)

    # WHEN the function gets the event
    with pytest.raises(TransientError) as raised:
        harness.deliver(event_of(record))

    # THEN S3 answers 403, not 404 (it does not tell a caller who may not list whether a key
    # exists), so the function cannot tell "gone" from "forbidden" and the event is retried
    # (README, "Failure semantics": the world failed), naming what was denied
    assert "AccessDenied" in str(raised.value)
    assert f"s3:ListBucket on resource: arn:aws:s3:::{INPUT_BUCKET}" in str(raised.value)
    # AND with the template's role, the same event is skipped as "object_missing"
    harness.grant(policies)
    assert harness.deliver(event_of(record)) == [
        {"key": key, "status": "skipped", "reason": "object_missing", "thumbnails": {}}
    ]

"""Fixtures for running the real handler against moto's in-process AWS."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws

from tests.conftest import INPUT_BUCKET

EVENTS = Path(__file__).resolve().parents[2] / "events"


def tool_missing(message: str) -> NoReturn:
    """A tool a test needs is not installed: under CI (CI=true; GitHub sets it, .ci/run exports
    it) the test fails, never a green run that checked nothing; elsewhere it skips."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def sam_cli() -> str:
    """The SAM CLI next to the interpreter running the tests (.venv/bin), else on PATH."""
    sam = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    if sam is None:
        tool_missing("the SAM CLI is not installed (`make venv` installs it into .venv)")
    return sam


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@dataclass
class Stack:
    """The stack's resources, in moto."""

    s3: Any
    sqs: Any
    dlq_url: str
    input_bucket: str = INPUT_BUCKET
    output_bucket: str = os.environ["OUTPUT_BUCKET"]
    failed_event_queue_url: str = ""

    def upload(self, key: str, data: bytes) -> dict[str, Any]:
        """Put an object into the input bucket; return the S3 record an upload produces."""
        put = self.s3.put_object(Bucket=self.input_bucket, Key=key, Body=data)
        record = copy.deepcopy(load_event("s3-put.json")["Records"][0])
        record["s3"]["bucket"]["name"] = self.input_bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{self.input_bucket}"
        record["s3"]["object"].update(
            key=quote_plus(key, safe="/"), size=len(data), eTag=put["ETag"].strip('"')
        )
        return record

    def output_keys(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.output_bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def dead_letters(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            assert sqs_accepts(message["Body"]), f"SQS would refuse {message['Body']!r}"
        return [json.loads(message["Body"]) for message in messages]


# What SQS accepts in a message body (moto accepts anything): #x9 | #xA | #xD | #x20-#xD7FF |
# #xE000-#xFFFD | #x10000-#x10FFFF.
_SQS_BODY = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


def sqs_accepts(body: str) -> bool:
    return _SQS_BODY.fullmatch(body) is not None


def event_of(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


#: S3's limits that moto does not enforce: a key's UTF-8 bytes, and user metadata's (keys and
#: values, UTF-8). Objects over 5 GB per PutObject never occur here (thumbnails are KBs).
S3_MAX_KEY_BYTES = 1024
S3_MAX_METADATA_BYTES = 2048


@pytest.fixture
def s3_limits(monkeypatch) -> None:
    """Make moto refuse what S3 refuses (KeyTooLongError, MetadataTooLarge), as S3 does."""
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    real_put_object = S3Backend.put_object
    real_put_response = S3Response.put_object

    def put_object(self, bucket_name, key_name, *args, **kwargs):
        if len(key_name.encode()) > S3_MAX_KEY_BYTES:
            raise S3ClientError("KeyTooLongError", "Your key is too long")
        return real_put_object(self, bucket_name, key_name, *args, **kwargs)

    def put_response(self):
        metadata = [
            (name[len("x-amz-meta-") :], value)
            for name, value in self.headers.items()
            if name.lower().startswith("x-amz-meta-")
        ]
        size = sum(len(name.encode()) + len(value.encode()) for name, value in metadata)
        if size > S3_MAX_METADATA_BYTES:
            raise S3ClientError(
                "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size"
            )
        return real_put_response(self)

    monkeypatch.setattr(S3Backend, "put_object", put_object)
    monkeypatch.setattr(S3Response, "put_object", put_response)


@pytest.fixture
def stack(s3_limits) -> Iterator[Stack]:
    import app

    with mock_aws():
        s3 = boto3.client("s3")
        sqs = boto3.client("sqs")
        s3.create_bucket(Bucket=INPUT_BUCKET)
        s3.create_bucket(Bucket=os.environ["OUTPUT_BUCKET"])
        dlq_url = sqs.create_queue(QueueName="thumbs-dlq")["QueueUrl"]
        assert dlq_url == os.environ["DLQ_URL"]
        app.thumbnail_service.cache_clear()
        yield Stack(s3=s3, sqs=sqs, dlq_url=dlq_url)
        app.thumbnail_service.cache_clear()


@pytest.fixture
def captured_output(capsys):
    """Read what the function printed: JSON log lines and EMF metric blobs, parsed.

    Powertools' log handler holds on to the stream it was created with, so the logs are
    collected from a stream of our own; EMF blobs are printed to the current stdout.
    """
    from thumbnailer.observability import logger

    handler = logger.registered_handler
    log_stream = io.StringIO()
    previous, handler.stream = handler.stream, log_stream

    def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        logs = [json.loads(line) for line in log_stream.getvalue().splitlines()]
        printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
        return logs, [blob for blob in printed if "_aws" in blob]

    yield read
    handler.stream = previous


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """Every GetObject of a source the function makes, by key, in order."""
    from thumbnailer.storage import ObjectStore

    made: list[str] = []
    real_read = ObjectStore.read

    def counting_read(self, bucket, key, **kwargs):
        made.append(key)
        return real_read(self, bucket, key, **kwargs)

    monkeypatch.setattr(ObjectStore, "read", counting_read)
    return made

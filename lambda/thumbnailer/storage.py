"""The only module that talks to AWS: the object store, the dead-letter queue, the topic.

botocore errors never leave this module raw: a missing object is `None`, an object that is
too big is a `BadObjectError`, an object replaced since it was named is `SourceChangedError`,
everything else is a `TransientError` (retrying may help).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from thumbnailer.errors import ObjectTooLargeError, SourceChangedError, TransientError
from thumbnailer.observability import Annotation, annotate, span

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NotFound", "404"})
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30
)


# Characters SQS (and SNS) refuse in a message body: they allow #x9 | #xA | #xD | #x20-#xD7FF |
# #xE000-#xFFFD | #x10000-#x10FFFF. S3 keys may hold the others (U+FFFE, U+FFFF).
_NOT_IN_SQS_BODY = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def message_body(document: Mapping[str, Any]) -> str:
    """`document` as JSON that SQS and SNS accept: readable UTF-8, and the characters SQS refuses
    written as JSON escapes (\\uFFFF), so that parsing the body gives the document back exactly."""
    text = json.dumps(document, ensure_ascii=False)
    return _NOT_IN_SQS_BODY.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


@cache
def aws_client(service: str) -> Any:
    """One client per service, created on first use (never at import, so tests can mock first).

    boto3 honours AWS_ENDPOINT_URL, which is how local runs point it at a stand-in.
    """
    return boto3.client(service, config=_CLIENT_CONFIG)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def _transient(call: str, target: str, **annotations: Annotation) -> Iterator[None]:
    """`call` on `target`, traced as a span named `call` with `annotations`: any botocore error
    inside becomes a `TransientError` naming both and S3's/SQS's code (and marks the span).

    Errors a caller can interpret (a missing object, a replaced one) are caught before this.
    """
    action = f"{call} {target}"
    with span(call, **annotations):
        try:
            yield
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "")
            detail = f"{_error_code(exc)} ({message})" if message else _error_code(exc)
            raise TransientError(f"{action} failed: {detail}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"{action} failed: {exc}") from exc


@dataclass(frozen=True)
class ObjectInfo:
    """What HeadObject says about an object. `etag` is unquoted."""

    etag: str
    size: int
    version_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


class ObjectStore:
    """Reads uploads, writes and deletes thumbnails."""

    def __init__(self, s3_client: S3Client | None = None) -> None:
        self._s3 = s3_client or aws_client("s3")

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """The current object's ETag, size, version and user metadata; None if there is none."""
        with _transient("S3 HeadObject", f"s3://{bucket}/{key}", bucket=bucket, key=key):
            try:
                response = self._s3.head_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                if _error_code(exc) in _MISSING_CODES:
                    return None
                raise
        return ObjectInfo(
            etag=response["ETag"].strip('"'),
            size=response["ContentLength"],
            version_id=response.get("VersionId"),
            metadata=response.get("Metadata", {}),
        )

    def read(
        self, bucket: str, key: str, *, if_match: str | None = None, max_bytes: int
    ) -> bytes | None:
        """The current object's bytes, or None if it no longer exists.

        With `if_match` (an ETag), S3 refuses to return anything but that content: an object
        replaced in the meantime raises `SourceChangedError` instead of being read.
        """
        request: dict[str, str] = {"Bucket": bucket, "Key": key}
        if if_match:
            request["IfMatch"] = f'"{if_match}"'
        with _transient("S3 GetObject", f"s3://{bucket}/{key}", bucket=bucket, key=key):
            try:
                response = self._s3.get_object(**request)
                length = response["ContentLength"]
                if length > max_bytes:
                    response["Body"].close()
                    raise ObjectTooLargeError(
                        f"the object has {length} bytes; the limit is {max_bytes} bytes"
                    )
                data: bytes = response["Body"].read()
            except ClientError as exc:
                if _error_code(exc) in _MISSING_CODES:
                    return None
                if _error_code(exc) in _CHANGED_CODES:
                    raise SourceChangedError(
                        f"s3://{bucket}/{key} no longer has ETag {if_match}: it was replaced"
                    ) from exc
                raise
            annotate(bytes=len(data))
            return data

    def write(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str,
        metadata: Mapping[str, str],
    ) -> None:
        with _transient(
            "S3 PutObject", f"s3://{bucket}/{key}", bucket=bucket, key=key, bytes=len(data)
        ):
            self._s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=cache_control,
                Metadata=dict(metadata),
            )

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        """Every key under `prefix` (ListObjectsV2, page by page)."""
        keys: list[str] = []
        with _transient(
            "S3 ListObjectsV2", f"s3://{bucket}/{prefix}", bucket=bucket, prefix=prefix
        ):
            pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def delete(self, bucket: str, key: str) -> None:
        with _transient("S3 DeleteObject", f"s3://{bucket}/{key}", bucket=bucket, key=key):
            self._s3.delete_object(Bucket=bucket, Key=key)


class DeadLetterQueue:
    """Sends the function's own failure records to the SQS dead-letter queue."""

    def __init__(self, queue_url: str, sqs_client: SQSClient | None = None) -> None:
        self.url = queue_url
        self._sqs = sqs_client or aws_client("sqs")

    @property
    def fifo(self) -> bool:
        """SQS names every FIFO queue, and only those, with `.fifo` at the end."""
        return self.url.endswith(".fifo")

    def send(
        self,
        record: Mapping[str, Any],
        *,
        deduplication_id: str | None = None,
        delay_seconds: int = 0,
    ) -> str:
        """Send one failure record; return its message id.

        To a FIFO queue (the template's), records are grouped by key, and SQS keeps one of the
        sends that share a `deduplication_id` within five minutes: a retry of a send whose
        answer was lost adds no record. Without one, each call is its own record (botocore's
        retries of it still share one). A FIFO queue takes no per-message delay."""
        message: dict[str, Any] = {
            "QueueUrl": self.url,
            "MessageBody": message_body(record),
            "MessageAttributes": {
                "reason": {"DataType": "String", "StringValue": str(record["reason"])}
            },
        }
        if self.fifo:
            key = f"{record.get('bucket', '')}/{record.get('key', '')}"
            message["MessageGroupId"] = hashlib.sha256(key.encode()).hexdigest()
            message["MessageDeduplicationId"] = deduplication_id or uuid.uuid4().hex
        else:
            message["DelaySeconds"] = delay_seconds
        with _transient(
            "SQS SendMessage",
            "to the dead-letter queue",
            bucket=record.get("bucket"),
            key=record.get("key"),
            reason=str(record["reason"]),
        ):
            response = self._sqs.send_message(**message)
        return str(response["MessageId"])


class NotificationTopic:
    """Publishes the pipeline's notifications to SNS, with `outcome` as a message attribute."""

    def __init__(self, topic_arn: str, sns_client: SNSClient | None = None) -> None:
        self._arn = topic_arn
        self._sns = sns_client or aws_client("sns")

    def publish(self, message: Mapping[str, Any], *, outcome: str, subject: str) -> None:
        with _transient("SNS Publish", "to the notification topic", outcome=outcome):
            self._sns.publish(
                TopicArn=self._arn,
                Subject=subject,
                Message=message_body(message),
                MessageAttributes={"outcome": {"DataType": "String", "StringValue": outcome}},
            )

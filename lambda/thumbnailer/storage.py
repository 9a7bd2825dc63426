"""The only module that talks to AWS: the object store, the dead-letter queue, the topic.

botocore errors never leave this module raw: a missing object is `None`, an object that is
too big is a `BadObjectError`, everything else is a `TransientError` (retrying may help).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from thumbnailer.errors import ObjectTooLargeError, TransientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NotFound", "404"})
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30
)


@cache
def aws_client(service: str) -> Any:
    """One client per service, created on first use (never at import, so tests can mock first).

    boto3 honours AWS_ENDPOINT_URL, which is how local runs point it at a stand-in.
    """
    return boto3.client(service, config=_CLIENT_CONFIG)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class ObjectStore:
    """Reads uploads and writes thumbnails."""

    def __init__(self, s3_client: S3Client | None = None) -> None:
        self._s3 = s3_client or aws_client("s3")

    def read(
        self, bucket: str, key: str, *, version_id: str | None = None, max_bytes: int
    ) -> bytes | None:
        """The object's bytes, or None if it no longer exists."""
        request: dict[str, str] = {"Bucket": bucket, "Key": key}
        if version_id:
            request["VersionId"] = version_id
        try:
            response = self._s3.get_object(**request)
            length = response["ContentLength"]
            if length > max_bytes:
                response["Body"].close()
                raise ObjectTooLargeError(
                    f"the object has {length} bytes; the limit is {max_bytes} bytes"
                )
            return response["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                return None
            raise TransientError(
                f"S3 GetObject s3://{bucket}/{key} failed: {_error_code(exc)}"
            ) from exc
        except BotoCoreError as exc:
            raise TransientError(f"S3 GetObject s3://{bucket}/{key} failed: {exc}") from exc

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
        try:
            self._s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=cache_control,
                Metadata=dict(metadata),
            )
        except (ClientError, BotoCoreError) as exc:
            code = _error_code(exc) if isinstance(exc, ClientError) else str(exc)
            raise TransientError(f"S3 PutObject s3://{bucket}/{key} failed: {code}") from exc


class DeadLetterQueue:
    """Sends the function's own failure records to the SQS dead-letter queue."""

    def __init__(self, queue_url: str, sqs_client: SQSClient | None = None) -> None:
        self._url = queue_url
        self._sqs = sqs_client or aws_client("sqs")

    def send(self, record: Mapping[str, Any]) -> None:
        try:
            self._sqs.send_message(
                QueueUrl=self._url,
                MessageBody=json.dumps(record, ensure_ascii=False),
                MessageAttributes={
                    "reason": {"DataType": "String", "StringValue": str(record["reason"])}
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"SQS SendMessage to the dead-letter queue failed: {exc}") from exc


class NotificationTopic:
    """Publishes the pipeline's notifications to SNS, with `outcome` as a message attribute."""

    def __init__(self, topic_arn: str, sns_client: SNSClient | None = None) -> None:
        self._arn = topic_arn
        self._sns = sns_client or aws_client("sns")

    def publish(self, message: Mapping[str, Any], *, outcome: str, subject: str) -> None:
        try:
            self._sns.publish(
                TopicArn=self._arn,
                Subject=subject,
                Message=json.dumps(message, ensure_ascii=False),
                MessageAttributes={"outcome": {"DataType": "String", "StringValue": outcome}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"SNS Publish to the notification topic failed: {exc}") from exc

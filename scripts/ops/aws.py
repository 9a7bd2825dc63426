"""The operations scripts' only module that talks to AWS (besides the function's own storage).

    DeadLetterMailbox    receive, delete and release messages of the dead-letter queue
    list_pages           the input bucket's objects under a prefix, a page at a time, resumable
    stack_configuration  a deployed stack's outputs and its function's environment

Clients come from `thumbnailer.storage.aws_client`, so AWS_ENDPOINT_URL points them at the
local stand-in exactly as it does the function's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from thumbnailer.storage import aws_client

SQS_MAX_BATCH = 10  # SQS's limit per ReceiveMessage and per batch call
S3_MAX_PAGE = 1000  # S3's limit per ListObjectsV2 page


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]  # message attribute name -> string value


class DeadLetterMailbox:
    """Reads the dead-letter queue. Sending goes through the function's `DeadLetterQueue`."""

    def __init__(self, queue_url: str, sqs_client: Any = None) -> None:
        self.url = queue_url
        self._sqs = sqs_client or aws_client("sqs")

    def receive(
        self, *, max_messages: int, visibility_timeout: int, wait_seconds: int
    ) -> list[QueueMessage]:
        """Up to `max_messages` (at most 10), hidden from other readers for the timeout."""
        response = self._sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max(1, min(max_messages, SQS_MAX_BATCH)),
            VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
        )
        return [
            QueueMessage(
                message_id=message["MessageId"],
                receipt_handle=message["ReceiptHandle"],
                body=message["Body"],
                attributes={
                    name: str(value.get("StringValue", ""))
                    for name, value in message.get("MessageAttributes", {}).items()
                },
            )
            for message in response.get("Messages", [])
        ]

    def delete(self, message: QueueMessage) -> None:
        self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt_handle)

    def release(self, messages: list[QueueMessage]) -> None:
        """Make messages visible again at once (they were only looked at)."""
        for start in range(0, len(messages), SQS_MAX_BATCH):
            chunk = messages[start : start + SQS_MAX_BATCH]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )


@dataclass(frozen=True)
class ListedObject:
    key: str
    etag: str  # unquoted
    size: int


def list_pages(
    bucket: str, prefix: str, *, start_after: str = "", page_size: int = S3_MAX_PAGE
) -> Iterator[list[ListedObject]]:
    """The objects under `prefix` in key order, after `start_after`, `page_size` at a time."""
    s3 = aws_client("s3")
    request: dict[str, Any] = {
        "Bucket": bucket,
        "Prefix": prefix,
        "MaxKeys": max(1, min(page_size, S3_MAX_PAGE)),
    }
    if start_after:
        request["StartAfter"] = start_after
    while True:
        response = s3.list_objects_v2(**request)
        page = [
            ListedObject(item["Key"], item["ETag"].strip('"'), item["Size"])
            for item in response.get("Contents", [])
        ]
        if page:
            yield page
        if not response.get("IsTruncated"):
            return
        request.pop("StartAfter", None)
        request["ContinuationToken"] = response["NextContinuationToken"]


def stack_configuration(stack_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The stack's outputs, and the environment its ThumbnailFunction runs with (with the
    memory Lambda gives it, which sizes the default pixel budget, as Lambda sets it)."""
    [stack] = aws_client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    function = aws_client("lambda").get_function_configuration(
        FunctionName=outputs["ThumbnailFunctionName"]
    )
    environment = dict(function.get("Environment", {}).get("Variables", {}))
    environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(function["MemorySize"])
    return outputs, environment

"""Lambda's SQS event source mapping, for IngestMode=queue.

A poller receives batches in the shape Lambda delivers them, makes one synchronous invoke each
in the execution environments, honours partial batch responses (batchItemFailures) and leaves
failed messages to reappear, and to be redriven to the DLQ by the queue itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scripts.local.invoker import InvokerClosedError, LambdaInvoker, notification_keys
from scripts.local.resources import arn_of_queue


def lambda_sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A ReceiveMessage message, in the shape Lambda's event source mapping hands it over."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


@dataclass
class QueuedMessage:
    """One message of a batch: what it carried and whether the function reported it failed."""

    message_id: str
    body: dict[str, Any]  # the S3 notification, as S3 sent it ({} if it holds none)
    receive_count: int
    failed: bool

    @property
    def keys(self) -> list[str]:
        return notification_keys(self.body)


@dataclass
class BatchInvocation:
    """One synchronous invocation by the event source mapping, and what it came to."""

    event: dict[str, Any]
    messages: list[QueuedMessage]
    response: dict[str, Any] | None = None
    error: str = ""
    duration_ms: float = 0.0
    max_rss_kb: int | None = None
    finished_at: float = 0.0


def _notification(body: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


class EventSourceMapping:
    """Lambda's SQS poller: batches in, one synchronous invoke each, successes deleted.

    As Lambda does with FunctionResponseTypes: [ReportBatchItemFailures]: the messages named in
    the response's batchItemFailures (all of them, if the invocation failed) are left alone, so
    they reappear after the queue's visibility timeout; the queue's redrive policy, not the
    poller, moves a message received maxReceiveCount times to the dead-letter queue.
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        invoker: LambdaInvoker,
        *,
        batch_size: int = 10,
        batching_window_seconds: float = 0.0,
        on_batch: Callable[[BatchInvocation], None],
    ) -> None:
        self._sqs, self._url, self._invoker = sqs, queue_url, invoker
        self._batch_size, self._window = batch_size, batching_window_seconds
        self._on_batch = on_batch
        self.queue_arn = arn_of_queue(sqs, queue_url)
        self._enabled = threading.Event()
        self._enabled.set()
        self._idle = threading.Condition()
        self._in_flight = 0  # pollers receiving or handling a batch

    def disable(self) -> None:
        """Like `aws lambda update-event-source-mapping --no-enabled`; returns once idle."""
        self._enabled.clear()
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0)

    def enable(self) -> None:
        self._enabled.set()

    def run(self, stop: threading.Event) -> None:
        """One poller: one batch at a time, until `stop`. Several may run at once, as in Lambda."""
        while not stop.is_set():
            if not self._enabled.wait(timeout=0.2):
                continue
            with self._idle:
                if not self._enabled.is_set():
                    continue
                self._in_flight += 1
            try:
                messages = self._receive_batch()
                if messages:
                    self._on_batch(self._invoke(messages))
            except InvokerClosedError:
                return  # shutting down: the batch reappears after its visibility timeout
            except Exception:
                if stop.is_set():
                    return
                raise
            finally:
                with self._idle:
                    self._in_flight -= 1
                    self._idle.notify_all()

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        return list(
            self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=min(count, 10),
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        )

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Up to batch_size messages, waiting at most the batching window to fill the batch."""
        # By id: a message whose visibility timeout ran out while the batch filled comes back
        # with a new receipt handle, the only one that can still delete it.
        batch = {m["MessageId"]: m for m in self._receive(self._batch_size, wait_seconds=1)}
        deadline = time.monotonic() + self._window
        while batch and len(batch) < self._batch_size and time.monotonic() < deadline:
            more = self._receive(self._batch_size - len(batch), wait_seconds=0)
            batch.update((m["MessageId"], m) for m in more)
            time.sleep(0.05)
        return list(batch.values())

    def _invoke(self, messages: list[dict[str, Any]]) -> BatchInvocation:
        """One synchronous invocation, never retried here: what failed comes back from SQS."""
        event = {"Records": [lambda_sqs_record(message, self.queue_arn) for message in messages]}
        result, error = self._invoker.attempt(json.dumps(event))
        response = result["response"] if result else None
        if result is None:
            failed = {message["MessageId"] for message in messages}
        else:
            # No response or an empty list means the whole batch succeeded, as in Lambda.
            reported = (response or {}).get("batchItemFailures") or []
            failed = {item["itemIdentifier"] for item in reported}
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return BatchInvocation(
            event,
            [
                QueuedMessage(
                    message["MessageId"],
                    _notification(message["Body"]),
                    int(message["Attributes"]["ApproximateReceiveCount"]),
                    message["MessageId"] in failed,
                )
                for message in messages
            ],
            response=response,
            error=error,
            duration_ms=result["duration_ms"] if result else 0.0,
            max_rss_kb=result["max_rss_kb"] if result else None,
            finished_at=time.time(),
        )

    def pending(self) -> int:
        """Messages in the queue, visible or in flight."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

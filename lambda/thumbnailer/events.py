"""Recognising what invoked the function, from the event's shape alone.

IngestMode=direct  S3 invokes the function with an S3 notification (`Records` from aws:s3)
                   or, once, with `s3:TestEvent` when the notification is configured.
IngestMode=queue   Lambda's SQS event source mapping invokes it with a batch of messages
                   (`Records` from aws:sqs) whose bodies are those same S3 documents.
Batch Operations   an S3 Batch Operations job (LambdaInvoke) invokes it with tasks
                   (`invocationSchemaVersion` 1.0 or 2.0, `tasks`), whatever the ingest mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class EventShape(StrEnum):
    S3_NOTIFICATION = "s3_notification"
    S3_TEST_EVENT = "s3_test_event"
    SQS_BATCH = "sqs_batch"
    BATCH_OPERATIONS = "batch_operations"


def event_shape(event: Mapping[str, Any]) -> EventShape:
    """Raises ValueError for anything that is none of the shapes the function handles."""
    if "invocationSchemaVersion" in event:
        if not isinstance(event.get("tasks"), list):
            raise ValueError("not an S3 Batch Operations event: it has no 'tasks' list")
        return EventShape.BATCH_OPERATIONS
    if event.get("Event") == "s3:TestEvent":
        return EventShape.S3_TEST_EVENT
    records = event.get("Records")
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise ValueError("not an S3 notification or an SQS batch: the event has no 'Records'")
    if records and all(record.get("eventSource") == "aws:sqs" for record in records):
        return EventShape.SQS_BATCH
    # Replayed or hand-made S3 records may lack eventSource; their "s3" part is what counts.
    if all("s3" in record for record in records):
        return EventShape.S3_NOTIFICATION
    sources = sorted({str(record.get("eventSource")) for record in records})
    raise ValueError(f"not an S3 notification or an SQS batch: records from {sources}")

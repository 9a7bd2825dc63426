"""A bad object's one record on the dead-letter queue: what failed, why, and enough to replay
it. The record's shape is part of the public contract (docs/behaviour.md); redrive reads it
from here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from thumbnailer.errors import BadObjectError
from thumbnailer.models import SourceObject
from thumbnailer.observability import logger, metrics
from thumbnailer.provenance import recorded_settings
from thumbnailer.settings import Settings
from thumbnailer.storage import DeadLetterQueue

FAILURE_RECORD_SCHEMA = "serverless-image-pipeline/failure/v1"
#: What makes two reports the same report: not when, nor which event, said it.
_IDENTITY = ("bucket", "key", "version_id", "etag", "size", "reason", "settings")


def failure_record(
    settings: Settings, source: SourceObject, *, reason: str, message: str, retryable: bool
) -> dict[str, Any]:
    """The DLQ record: enough to understand the failure and to replay the object."""
    return {
        "schema": FAILURE_RECORD_SCHEMA,
        "bucket": source.bucket,
        "key": source.key,
        "version_id": source.version_id,
        "etag": source.etag,
        "size": source.size,
        "sequencer": source.sequencer,
        "event_name": source.event_name,
        "event_time": source.event_time,
        "s3_request_id": source.s3_request_id,
        "reason": reason,
        "message": message,
        "retryable": retryable,
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": recorded_settings(settings),
    }


def deduplication_id(record: Mapping[str, Any]) -> str:
    """The same for every report of one version of one object, for one reason, under one
    configuration: Lambda's retry of an invocation whose report was sent, or an S3 event
    delivered twice, adds no second record (within SQS's five-minute window)."""
    identity = {name: record[name] for name in _IDENTITY}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def report(
    settings: Settings, queue: DeadLetterQueue, source: SourceObject, exc: BadObjectError
) -> None:
    """Send `source`'s record to the dead-letter queue, and count it by reason."""
    record = failure_record(settings, source, reason=exc.reason, message=str(exc), retryable=False)
    queue.send(record, deduplication_id=deduplication_id(record))
    with single_metric(name="Failures", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="reason", value=exc.reason)
    # The same count without the reason: one metric that an alarm can watch.
    metrics.add_metric(name="BadObjects", unit=MetricUnit.Count, value=1)
    logger.warning(
        "bad object reported to the dead-letter queue", reason=exc.reason, error=str(exc)
    )

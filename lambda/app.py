"""Lambda entry point: S3 ObjectCreated events in, thumbnails or dead-letter records out."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext

from thumbnailer.errors import TransientError
from thumbnailer.models import Outcome, SourceObject
from thumbnailer.observability import logger, metrics, tracer
from thumbnailer.processing import ThumbnailService
from thumbnailer.settings import Settings
from thumbnailer.storage import DeadLetterQueue, ObjectStore

# Read once, at init: a misconfigured function fails before it takes its first event.
SETTINGS = Settings.from_env()


@cache
def thumbnail_service() -> ThumbnailService:
    return ThumbnailService(SETTINGS, ObjectStore(), DeadLetterQueue(SETTINGS.dlq_url))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("Event") == "s3:TestEvent":
        # S3 sends this once when a notification is configured; there is nothing to do.
        metrics.add_metric(name="TestEventsIgnored", unit=MetricUnit.Count, value=1)
        return {"outcomes": []}
    if "Records" not in event:
        raise ValueError("not an S3 event notification: the event has no 'Records'")

    records = list(S3Event(event).records)
    metrics.add_metric(name="ObjectsReceived", unit=MetricUnit.Count, value=len(records))
    outcomes: list[Outcome] = []
    failures: list[str] = []
    for record in records:
        source = SourceObject.from_s3_record(record)
        with logger.append_context_keys(object_key=source.key, s3_request_id=source.s3_request_id):
            try:
                outcomes.append(thumbnail_service().process(source))
            except Exception as exc:  # noqa: BLE001 - the rest of the batch goes on; raised below
                logger.exception("processing failed; Lambda will retry the event")
                failures.append(f"{source.key}: {exc}")

    if failures:
        # Retrying re-processes the whole event; writes are idempotent overwrites.
        raise TransientError(
            f"{len(failures)} object(s) failed and may succeed on retry: " + "; ".join(failures)
        )
    return {"outcomes": [outcome.as_dict() for outcome in outcomes]}

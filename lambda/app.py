"""Lambda entry point: routes each kind of event to the function that handles it.

S3 event notifications (ObjectCreated, ObjectRemoved)  -> handle_s3_notification
S3 Batch Operations (LambdaInvoke, schema 1.0 and 2.0)  -> run_batch_tasks
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent, S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext

from thumbnailer.batch_operations import run_batch_tasks
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
    if "invocationSchemaVersion" in event:
        return run_batch_tasks(S3BatchOperationEvent(event), thumbnail_service())
    return handle_s3_notification(event)


def handle_s3_notification(event: dict[str, Any]) -> dict[str, Any]:
    """Each record's object processed; raises at the end if any may succeed on retry."""
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

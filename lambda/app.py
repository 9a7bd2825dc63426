"""Lambda entry point: routes each kind of event to the code that handles it.

S3 event notifications (ObjectCreated, ObjectRemoved)  -> process_notification
    S3 invokes the function directly (IngestMode=direct)
SQS batches of those notifications                      -> process_queued_message, each
    Lambda's event source mapping on the ingest queue (IngestMode=queue)
S3 Batch Operations (LambdaInvoke, schema 1.0 and 2.0)  -> run_batch_tasks

All of them end in the same `ThumbnailService`; `thumbnailer.events` tells them apart.
"""

from __future__ import annotations

from functools import cache, partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event

from thumbnailer.deadline import Deadline, start_margin_ms
from thumbnailer.errors import TransientError
from thumbnailer.events import EventShape, event_shape
from thumbnailer.models import Outcome, SourceObject
from thumbnailer.observability import logger, metrics, tracer
from thumbnailer.processing import ThumbnailService
from thumbnailer.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Read once, at init: a misconfigured function fails before it takes its first event.
SETTINGS = Settings.from_env()
# What only some event shapes need (SQS batches, Batch Operations) is imported by the first
# event of that shape, not at every cold start (docs/performance.md, cold start).


@cache
def queued_batch() -> BatchProcessor:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.SQS)


@cache
def thumbnail_service() -> ThumbnailService:
    return ThumbnailService.from_settings(SETTINGS)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    shape = event_shape(event)
    deadline = Deadline(
        context.get_remaining_time_in_millis, start_margin_ms(int(context.memory_limit_in_mb))
    )
    if shape is EventShape.BATCH_OPERATIONS:
        from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent

        from thumbnailer.batch_operations import run_batch_tasks

        return run_batch_tasks(S3BatchOperationEvent(event), thumbnail_service(), deadline)
    if shape is EventShape.SQS_BATCH:
        from aws_lambda_powertools.utilities.batch import process_partial_response

        # Only messages that failed transiently are listed in batchItemFailures and come back;
        # the rest, bad objects included (already reported to the DLQ), are deleted; so are
        # those not started for lack of time.
        return process_partial_response(
            event=event,
            record_handler=partial(process_queued_message, deadline=deadline),
            processor=queued_batch(),
        )
    if shape is EventShape.S3_TEST_EVENT:
        _ignore_test_event()
        return {"outcomes": []}
    outcomes = process_notification(event, deadline)
    return {"outcomes": [outcome.as_dict() for outcome in outcomes]}


def process_queued_message(record: SQSRecord, deadline: Deadline) -> None:
    """One message of the ingest queue: an S3 notification. Raises if it should be retried."""
    with logger.append_context_keys(sqs_message_id=record.message_id):
        try:
            notification, shape = _s3_document_in(record)
        except (ValueError, AttributeError):
            logger.exception("not an S3 notification; the queue will redrive it to the DLQ")
            raise
        if shape is EventShape.S3_TEST_EVENT:
            _ignore_test_event()
            return
        process_notification(notification, deadline)


def _s3_document_in(record: SQSRecord) -> tuple[dict[str, Any], EventShape]:
    document = record.json_body
    shape = event_shape(document)
    if shape not in (EventShape.S3_NOTIFICATION, EventShape.S3_TEST_EVENT):
        raise ValueError(f"the message holds {shape.value}, not an S3 notification")
    return document, shape


def process_notification(event: dict[str, Any], deadline: Deadline) -> list[Outcome]:
    """Every object of an S3 notification that `deadline` lets start; raises `TransientError`
    after the others are done if one failed or was not started."""
    records = list(S3Event(event).records)
    metrics.add_metric(name="ObjectsReceived", unit=MetricUnit.Count, value=len(records))
    outcomes: list[Outcome] = []
    failures: list[str] = []
    for record in records:
        source = SourceObject.from_s3_record(record)
        with logger.append_context_keys(object_key=source.key, s3_request_id=source.s3_request_id):
            if not deadline.may_start():
                logger.warning("too little time left to start; left to the retry")
                failures.append(f"{source.key}: {deadline.refusal()}")
                continue
            try:
                outcomes.append(thumbnail_service().process(source))
            except Exception as exc:  # noqa: BLE001 - the rest of the batch goes on; raised below
                logger.exception("processing failed; it will be retried")
                failures.append(f"{source.key}: {exc}")

    if failures:
        # Retrying re-processes the whole notification; objects already done are skipped by
        # their thumbnails' provenance (duplicates do no work twice).
        raise TransientError(
            f"{len(failures)} object(s) failed and may succeed on retry: " + "; ".join(failures)
        )
    return outcomes


def _ignore_test_event() -> None:
    # S3 sends this once when a notification is configured; there is nothing to do.
    metrics.add_metric(name="TestEventsIgnored", unit=MetricUnit.Count, value=1)

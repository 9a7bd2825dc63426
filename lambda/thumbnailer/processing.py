"""Turning one source object into thumbnails, or into exactly one dead-letter record."""

from __future__ import annotations

from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from thumbnailer.errors import BadObjectError, ObjectTooLargeError, RecursionRiskError
from thumbnailer.imaging import make_thumbnails
from thumbnailer.keys import output_key_for, relative_key
from thumbnailer.models import Outcome, SourceObject, Status
from thumbnailer.notifications import notification_for
from thumbnailer.observability import logger, metrics, tracer
from thumbnailer.settings import Settings
from thumbnailer.storage import DeadLetterQueue, NotificationTopic, ObjectStore

CONTENT_TYPE = "image/webp"
# A thumbnail's key changes only with its source's key, so browsers and CDNs may keep it a year.
CACHE_CONTROL = "public, max-age=31536000"
FAILURE_RECORD_SCHEMA = "serverless-image-pipeline/failure/v1"


class ThumbnailService:
    """Processes source objects: writes their thumbnails or reports them to the DLQ.

    With a `notifier`, each written or rejected object is also announced on the topic.
    """

    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        dead_letters: DeadLetterQueue,
        notifier: NotificationTopic | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._dead_letters = dead_letters
        self._notifier = notifier

    @tracer.capture_method
    def process(self, source: SourceObject) -> Outcome:
        """Raises only `TransientError` (retrying may help); bad objects return REJECTED."""
        if not source.event_name.startswith("ObjectCreated:"):
            logger.info("not an ObjectCreated event; ignored", event_name=source.event_name)
            return Outcome(source, Status.IGNORED, reason="not_object_created")
        if source.key.endswith("/"):
            logger.debug("folder marker; ignored")
            return Outcome(source, Status.IGNORED, reason="folder_marker")
        relative = relative_key(source.key, self._settings.input_prefix)
        if relative is None:
            logger.warning(
                "key is outside the input prefix; skipped", input_prefix=self._settings.input_prefix
            )
            return Outcome(source, Status.SKIPPED, reason="outside_input_prefix")
        try:
            outcome = self._make_thumbnails(source, relative)
        except BadObjectError as exc:
            outcome = Outcome(source, Status.REJECTED, reason=exc.reason, message=str(exc))
            # Announced before the DLQ record: if publishing fails, the retry still reports the
            # object to the DLQ exactly once.
            self._notify(outcome)
            self._report(source, exc)
            return outcome
        self._notify(outcome)
        return outcome

    def _notify(self, outcome: Outcome) -> None:
        if self._notifier is None:
            return
        notification = notification_for(outcome, self._settings.output_bucket)
        if notification is not None:
            self._notifier.publish(
                notification.message, outcome=notification.outcome, subject=notification.subject
            )

    def _make_thumbnails(self, source: SourceObject, relative: str) -> Outcome:
        settings = self._settings
        started = perf_counter()
        keys = {width: output_key_for(relative, width) for width in settings.thumb_widths}
        if source.bucket == settings.output_bucket and any(
            key.startswith(settings.input_prefix) for key in keys.values()
        ):
            raise RecursionRiskError(
                f"the output bucket is the input bucket and the thumbnails would land under "
                f"{settings.input_prefix!r}, which would invoke the function again"
            )
        if source.size is not None and source.size > settings.max_input_bytes:
            raise ObjectTooLargeError(
                f"the object has {source.size} bytes; the limit is {settings.max_input_bytes}"
            )

        data = self._store.read(
            source.bucket,
            source.key,
            version_id=source.version_id,
            max_bytes=settings.max_input_bytes,
        )
        if data is None:
            logger.warning("the object no longer exists; skipped")
            return Outcome(source, Status.SKIPPED, reason="object_missing")

        made = make_thumbnails(
            data,
            settings.thumb_widths,
            quality=settings.webp_quality,
            max_pixels=settings.max_input_pixels,
        )
        # Everything is encoded before anything is written: a bad image leaves no partial output.
        metadata = {"source-etag": source.etag.strip('"')}
        if source.version_id:
            metadata["source-version-id"] = source.version_id
        for thumbnail in made.thumbnails:
            self._store.write(
                settings.output_bucket,
                keys[thumbnail.width],
                thumbnail.data,
                content_type=CONTENT_TYPE,
                cache_control=CACHE_CONTROL,
                metadata=metadata,
            )

        duration_ms = (perf_counter() - started) * 1000
        bytes_out = sum(len(thumbnail.data) for thumbnail in made.thumbnails)
        metrics.add_metric(name="ThumbnailsWritten", unit=MetricUnit.Count, value=len(keys))
        metrics.add_metric(name="ProcessingTime", unit=MetricUnit.Milliseconds, value=duration_ms)
        metrics.add_metric(name="BytesIn", unit=MetricUnit.Bytes, value=len(data))
        metrics.add_metric(name="BytesOut", unit=MetricUnit.Bytes, value=bytes_out)
        logger.info(
            "thumbnails written",
            source_format=made.source_format,
            source_size=made.source_size,
            thumbnails={keys[t.width]: t.size for t in made.thumbnails},
            bytes_in=len(data),
            bytes_out=bytes_out,
            duration_ms=round(duration_ms, 1),
        )
        return Outcome(
            source,
            Status.WRITTEN,
            thumbnails={keys[t.width]: t.size for t in made.thumbnails},
            bytes_in=len(data),
            bytes_out=bytes_out,
            duration_ms=duration_ms,
        )

    def _report(self, source: SourceObject, exc: BadObjectError) -> None:
        self._dead_letters.send(self.failure_record(source, exc))
        with single_metric(name="Failures", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="reason", value=exc.reason)
        logger.warning(
            "bad object reported to the dead-letter queue", reason=exc.reason, error=str(exc)
        )

    def failure_record(self, source: SourceObject, exc: BadObjectError) -> dict[str, Any]:
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
            "reason": exc.reason,
            "message": str(exc),
            "retryable": exc.retryable,
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "settings": {
                "thumb_sizes": list(self._settings.thumb_widths),
                "webp_quality": self._settings.webp_quality,
                "input_prefix": self._settings.input_prefix,
            },
        }

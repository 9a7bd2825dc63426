"""Turning one source object into thumbnails, or into exactly one dead-letter record."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from thumbnailer.errors import (
    BadObjectError,
    ObjectTooLargeError,
    RecursionRiskError,
    SourceChangedError,
    TransientError,
)
from thumbnailer.keys import (
    check_output_keys,
    manifest_key,
    planned_keys,
    relative_key,
    rendition_key,
)
from thumbnailer.manifest import CONTENT_TYPE as MANIFEST_CONTENT_TYPE
from thumbnailer.manifest import manifest_document
from thumbnailer.models import Outcome, SourceObject, Status
from thumbnailer.notifications import notification_for
from thumbnailer.observability import annotate, logger, metrics, span, tracer
from thumbnailer.provenance import (
    Provenance,
    is_older_sequencer,
    key_digest,
    normalise_etag,
    settings_hash,
    signature_of,
)
from thumbnailer.renditions import CONTENT_TYPES, formats_for, make_renditions
from thumbnailer.settings import OUTPUT_FORMATS, Settings
from thumbnailer.storage import DeadLetterQueue, NotificationTopic, ObjectStore

# The manifest describes the current renditions: a client should revalidate it.
MANIFEST_CACHE_CONTROL = "public, max-age=60"
FAILURE_RECORD_SCHEMA = "serverless-image-pipeline/failure/v1"


class ThumbnailService:
    """Processes source objects: writes (or deletes) their thumbnails, or reports them to the DLQ.

    Every way in (S3 events, the ingest queue, S3 Batch Operations, the backfill and the replay
    scripts) goes through `process`, so they all share the same checks, outputs and failure
    semantics. With a `notifier`, each object whose thumbnails were written or deleted, and each
    bad object reported to the DLQ, is also announced on the topic.
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
        self._signature = signature_of(settings)
        self._settings_hash = settings_hash(self._signature)

    @classmethod
    def from_settings(cls, settings: Settings) -> ThumbnailService:
        """Wired as the deployed function is: its buckets, its DLQ, and its topic if it has one."""
        topic_arn = settings.notification_topic_arn
        return cls(
            settings,
            ObjectStore(),
            DeadLetterQueue(settings.dlq_url),
            NotificationTopic(topic_arn) if topic_arn else None,
        )

    @tracer.capture_method
    def process(self, source: SourceObject, *, report_bad_objects: bool = True) -> Outcome:
        """Raises only `TransientError` (retrying may help); bad objects return REJECTED.

        A bad object is also sent to the dead-letter queue, unless `report_bad_objects` is
        False: then the caller keeps its own record (a replay, a batch job's report).
        """
        annotate(bucket=source.bucket, key=source.key)
        try:
            outcome = self._process(source, report_bad_objects=report_bad_objects)
        except TransientError:
            annotate(outcome="transient")
            raise
        annotate(outcome=outcome.status.value, reason=outcome.reason or None)
        return outcome

    def _process(self, source: SourceObject, *, report_bad_objects: bool) -> Outcome:
        created = source.event_name.startswith("ObjectCreated:")
        removed = source.event_name.startswith("ObjectRemoved:")
        if not (created or removed):
            logger.info(
                "neither ObjectCreated nor ObjectRemoved; ignored", event_name=source.event_name
            )
            return Outcome(source, Status.IGNORED, reason="other_event")
        if source.key.endswith("/"):
            logger.debug("folder marker; ignored")
            return Outcome(source, Status.IGNORED, reason="folder_marker")
        relative = relative_key(source.key, self._settings.input_prefix)
        if relative is None:
            logger.warning(
                "key is outside the input prefix; skipped", input_prefix=self._settings.input_prefix
            )
            return Outcome(source, Status.SKIPPED, reason="outside_input_prefix")
        if removed:
            outcome = self._delete_thumbnails(source, relative)
            self._announce(outcome)
            return outcome
        try:
            outcome = self._make_thumbnails(source, relative)
        except BadObjectError as exc:
            outcome = Outcome(source, Status.REJECTED, reason=exc.reason, message=str(exc))
            if report_bad_objects:
                # Announced before the DLQ record: if publishing fails, the retry still reports
                # the object to the DLQ exactly once (a bad object leaves no provenance to skip).
                self._notify(outcome)
                self._report(source, exc)
            return outcome
        self._announce(outcome)
        return outcome

    def _notify(self, outcome: Outcome) -> None:
        """Publish the outcome's notification, if there is a topic and the outcome says anything."""
        if self._notifier is None:
            return
        notification = notification_for(outcome, self._settings.output_bucket)
        if notification is not None:
            self._notifier.publish(
                notification.message, outcome=notification.outcome, subject=notification.subject
            )

    def _announce(self, outcome: Outcome) -> None:
        """`_notify` for work that is done (written, deleted): a failed publish is only counted.

        Raising would not bring the message back: the retry finds the thumbnails up to date (or
        already gone) and, duplicates doing no work twice, has nothing left to announce.
        """
        try:
            self._notify(outcome)
        except TransientError:
            logger.exception("the notification could not be published; the work itself is done")
            metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)

    def _make_thumbnails(self, source: SourceObject, relative: str) -> Outcome:
        settings = self._settings
        started = perf_counter()
        keys = planned_keys(
            relative,
            widths=settings.thumb_widths,
            formats=settings.output_formats,
            crops=settings.crop_sizes,
            manifest=settings.write_manifest,
        )
        check_output_keys(keys)
        if source.bucket == settings.output_bucket and any(
            key.startswith(settings.input_prefix) for key in keys
        ):
            raise RecursionRiskError(
                f"the output bucket is the input bucket and the thumbnails would land under "
                f"{settings.input_prefix!r}, which would invoke the function again"
            )
        if not source.etag:
            # S3 Batch Operations tasks name no ETag; the current object's is what gets read.
            info = self._store.head(source.bucket, source.key)
            if info is None:
                return self._missing(source)
            source = replace(source, etag=info.etag, size=info.size, version_id=info.version_id)
        if source.size is not None and source.size > settings.max_input_bytes:
            raise ObjectTooLargeError(
                f"the object has {source.size} bytes; the limit is {settings.max_input_bytes}"
            )
        # Written last (the manifest, or else the largest thumbnail of the first format
        # written), so that its metadata speaks for the whole set.
        for marker in [keys[-1]] if settings.write_manifest else self._markers(relative):
            already = self._already_done(source, marker)
            if already:
                return Outcome(source, Status.IGNORED, reason=already)

        etag = normalise_etag(source.etag)
        try:
            data = self._store.read(
                source.bucket, source.key, if_match=etag, max_bytes=settings.max_input_bytes
            )
        except SourceChangedError:
            # Reading only the named content means an older event can never overwrite the
            # thumbnails of a newer upload: that upload's own event makes them.
            logger.info("the object was replaced since this event; skipped", etag=etag)
            metrics.add_metric(name="StaleEventsSkipped", unit=MetricUnit.Count, value=1)
            return Outcome(source, Status.IGNORED, reason="superseded")
        if data is None:
            return self._missing(source)

        with span("Render thumbnails", bucket=source.bucket, key=source.key, bytes=len(data)):
            made = make_renditions(
                data,
                settings.thumb_widths,
                quality=settings.webp_quality,
                max_pixels=settings.max_input_pixels,
                max_frames=settings.max_animation_frames,
                formats=settings.output_formats,
                avif_quality=settings.avif_quality,
                crops=settings.crop_sizes,
                describe=settings.write_manifest,
            )
        # Everything is encoded before anything is written: a bad image leaves no partial output.
        written = [
            (rendition_key(relative, rendition.name, rendition.format), rendition)
            for rendition in made.renditions
        ]
        marker = self._marker(relative, made.renditions[0].format)
        written.sort(key=lambda item: item[0] == marker)  # stable: the marker last
        manifest = None
        if settings.write_manifest:
            manifest = manifest_document(
                source={
                    "bucket": source.bucket,
                    "key": source.key,
                    "version_id": source.version_id,
                    "etag": etag,
                    "format": made.source_format,
                    "width": made.size[0],
                    "height": made.size[1],
                    "bytes": len(data),
                },
                renditions=written,
                focus=made.focus or (0.5, 0.5),
                placeholder=made.placeholder,  # type: ignore[arg-type]
            )
        metadata = Provenance(
            key_digest=key_digest(source.key),
            etag=etag,
            settings_hash=self._settings_hash,
            settings=self._signature,
            version_id=source.version_id,
            sequencer=source.sequencer,
        ).as_metadata()
        for key, rendition in written:
            self._store.write(
                settings.output_bucket,
                key,
                rendition.data,
                content_type=CONTENT_TYPES[rendition.format],
                cache_control=settings.cache_control,
                metadata=metadata,
            )
        if manifest is not None:
            self._store.write(
                settings.output_bucket,
                manifest_key(relative),
                manifest,
                content_type=MANIFEST_CONTENT_TYPE,
                # Rewritten in place when the source changes, unlike the renditions' keys.
                cache_control=MANIFEST_CACHE_CONTROL,
                metadata=metadata,
            )

        duration_ms = (perf_counter() - started) * 1000
        bytes_out = sum(len(rendition.data) for _key, rendition in written)
        thumbnails = {key: rendition.size for key, rendition in written}
        metrics.add_metric(name="ThumbnailsWritten", unit=MetricUnit.Count, value=len(written))
        metrics.add_metric(name="ProcessingTime", unit=MetricUnit.Milliseconds, value=duration_ms)
        metrics.add_metric(name="BytesIn", unit=MetricUnit.Bytes, value=len(data))
        metrics.add_metric(name="BytesOut", unit=MetricUnit.Bytes, value=bytes_out)
        for fmt in sorted({rendition.format for _key, rendition in written}):
            with single_metric(
                name="BytesOutByFormat",
                unit=MetricUnit.Bytes,
                value=sum(len(r.data) for _key, r in written if r.format == fmt),
            ) as metric:
                metric.add_dimension(name="format", value=fmt)
        logger.info(
            "thumbnails written",
            source_format=made.source_format,
            source_size=made.size,
            frames=made.frames,
            frames_dropped=made.frames_dropped,
            thumbnails=thumbnails,
            manifest=manifest_key(relative) if manifest is not None else None,
            bytes_in=len(data),
            bytes_out=bytes_out,
            duration_ms=round(duration_ms, 1),
        )
        return Outcome(
            source,
            Status.WRITTEN,
            thumbnails=thumbnails,
            manifest=manifest_key(relative) if manifest is not None else "",
            bytes_in=len(data),
            bytes_out=bytes_out,
            duration_ms=duration_ms,
        )

    def _marker(self, relative: str, fmt: str) -> str:
        """The rendition written last: the largest thumbnail, in the first format written."""
        return rendition_key(relative, f"{max(self._settings.thumb_widths)}w", fmt)

    def _markers(self, relative: str) -> list[str]:
        """`_marker` of each set a source can make: a still's, then an animation's (WebP
        whatever is configured: an AVIF-first configuration has two)."""
        formats = self._settings.output_formats
        firsts = dict.fromkeys(formats_for(formats, animated=a)[0] for a in (False, True))
        return [self._marker(relative, fmt) for fmt in firsts]

    def _already_done(self, source: SourceObject, marker: str) -> str | None:
        """Why the thumbnails need no work ("up_to_date", "superseded"), or None: one HeadObject."""
        info = self._store.head(self._settings.output_bucket, marker)
        made_from = Provenance.from_metadata(info.metadata) if info else None
        if made_from is None or made_from.key_digest != key_digest(source.key):
            # Missing, made before provenance was recorded, or made from another key with the
            # same name stem (photo.jpg and photo.png): sequencers of other keys do not compare.
            return None
        if (
            source.sequencer
            and made_from.sequencer
            and is_older_sequencer(source.sequencer, made_from.sequencer)
        ):
            logger.info(
                "an older event than the one that made the thumbnails; skipped",
                sequencer=source.sequencer,
                thumbnails_sequencer=made_from.sequencer,
            )
            metrics.add_metric(name="StaleEventsSkipped", unit=MetricUnit.Count, value=1)
            return "superseded"
        if (
            made_from.etag == normalise_etag(source.etag)
            and made_from.settings_hash == self._settings_hash
        ):
            logger.info("thumbnails are up to date; skipped", etag=made_from.etag)
            metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=1)
            return "up_to_date"
        return None

    def _delete_thumbnails(self, source: SourceObject, relative: str) -> Outcome:
        """ObjectRemoved: delete the thumbnails, unless the key has an object again."""
        settings = self._settings
        if self._store.head(source.bucket, source.key) is not None:
            # Re-uploaded after the delete, or only an older version was deleted.
            logger.info("the key still has a current object; thumbnails kept")
            return Outcome(source, Status.IGNORED, reason="source_exists")
        digest = key_digest(source.key)
        deleted: list[str] = []
        # Every format, configured or not (a format turned off leaves its renditions behind);
        # the manifest first, so that a set with a manifest is never incomplete.
        keys = planned_keys(
            relative,
            widths=settings.thumb_widths,
            formats=OUTPUT_FORMATS,
            crops=settings.crop_sizes,
            manifest=True,
        )
        listed = self._listed_in_manifest(keys[-1])
        for key in [keys[-1], *keys[:-1], *sorted(set(listed) - set(keys))]:
            info = self._store.head(settings.output_bucket, key)
            if info is None:
                continue
            made_from = Provenance.from_metadata(info.metadata)
            if made_from and made_from.key_digest != digest:
                continue  # made from another key with the same name stem
            if (
                made_from
                and source.sequencer
                and made_from.sequencer
                and is_older_sequencer(source.sequencer, made_from.sequencer)
            ):
                continue  # made from an upload that came after this delete
            self._store.delete(settings.output_bucket, key)
            deleted.append(key)
        if not deleted:
            return Outcome(source, Status.IGNORED, reason="nothing_to_delete")
        metrics.add_metric(name="ThumbnailsDeleted", unit=MetricUnit.Count, value=len(deleted))
        logger.info("source deleted; thumbnails deleted", thumbnails=deleted)
        return Outcome(source, Status.DELETED, deleted=tuple(deleted))

    def _listed_in_manifest(self, key: str) -> list[str]:
        """The rendition keys a manifest lists (renditions since unconfigured, such as old
        crops, included); none if there is no manifest or it is unreadable."""
        bucket = self._settings.output_bucket
        try:
            data = self._store.read(bucket, key, max_bytes=2**20)  # None: no manifest
            return [item["key"] for item in json.loads(data or b"{}").get("renditions", [])]
        except (ObjectTooLargeError, ValueError, TypeError, KeyError, AttributeError):
            logger.warning("the manifest is unreadable; only configured renditions are deleted")
            return []

    @staticmethod
    def _missing(source: SourceObject) -> Outcome:
        logger.warning("the object no longer exists; skipped")
        return Outcome(source, Status.SKIPPED, reason="object_missing")

    def _report(self, source: SourceObject, exc: BadObjectError) -> None:
        self._dead_letters.send(
            self.failure_record(source, reason=exc.reason, message=str(exc), retryable=False)
        )
        with single_metric(name="Failures", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="reason", value=exc.reason)
        # The same count without the reason: one metric that an alarm can watch.
        metrics.add_metric(name="BadObjects", unit=MetricUnit.Count, value=1)
        logger.warning(
            "bad object reported to the dead-letter queue", reason=exc.reason, error=str(exc)
        )

    def failure_record(
        self, source: SourceObject, *, reason: str, message: str, retryable: bool
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
            "settings": {
                "thumb_sizes": list(self._settings.thumb_widths),
                "webp_quality": self._settings.webp_quality,
                "input_prefix": self._settings.input_prefix,
                "output_formats": list(self._settings.output_formats),
                "avif_quality": self._settings.avif_quality,
                "crop_sizes": [f"{w}x{h}" for w, h in self._settings.crop_sizes],
                "write_manifest": self._settings.write_manifest,
            },
        }

"""One source object in, its set written (or deleted), or exactly one dead-letter record out.

`ThumbnailService.process` routes an event through the stages (stages/__init__.py says which
does what); every way in (S3 events, the ingest queue, S3 Batch Operations, backfill, redrive)
goes through it, so they all share the same checks, outputs and failure semantics.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from thumbnailer.errors import BadObjectError, TransientError
from thumbnailer.keys import relative_key
from thumbnailer.models import BACKFILL_EVENT, REMAKE_EVENT, Outcome, SourceObject, Status
from thumbnailer.observability import annotate, logger, tracer
from thumbnailer.provenance import normalise_etag, settings_hash, signature_of
from thumbnailer.settings import Settings
from thumbnailer.stages import dead_letters
from thumbnailer.stages.announcements import Announcer
from thumbnailer.stages.currency import already_done, current_source
from thumbnailer.stages.deletes import delete_outputs, delete_set, delete_stale
from thumbnailer.stages.plan import checked_keys, markers
from thumbnailer.stages.writer import Writer, missing
from thumbnailer.storage import DeadLetterQueue, NotificationTopic, ObjectStore

#: Times a set is remade from the current object when it changed while being written; past
#: that, the event is retried.
MAX_REMAKES = 3


class ThumbnailService:
    """Processes source objects: writes (or deletes) their sets, or reports them to the DLQ.

    With a `notifier`, each object whose set was written or deleted, and each bad object
    reported to the DLQ, is also announced on the topic.
    """

    def __init__(
        self,
        settings: Settings,
        store: ObjectStore,
        dead_letter_queue: DeadLetterQueue,
        notifier: NotificationTopic | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._dead_letter_queue = dead_letter_queue
        self._announcer = Announcer(notifier, settings.output_bucket)
        signature = signature_of(settings)
        self._settings_hash = settings_hash(signature)
        self._writer = Writer(
            settings, store, signature=signature, settings_hash=self._settings_hash
        )

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
            outcome = self._route(source, report_bad_objects=report_bad_objects)
        except TransientError:
            annotate(outcome="transient")
            raise
        annotate(outcome=outcome.status.value, reason=outcome.reason or None)
        return outcome

    def _route(self, source: SourceObject, *, report_bad_objects: bool) -> Outcome:
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
        try:
            if removed:
                outcome = self._follow_delete(source, relative)
                self._announcer.announce(outcome)
                return outcome
            outcome = self._make(source, relative)
        except BadObjectError as exc:
            outcome = Outcome(source, Status.REJECTED, reason=exc.reason, message=str(exc))
            if report_bad_objects:
                # Announced before the DLQ record: if publishing fails, the retry still reports
                # the object to the DLQ exactly once (a bad object leaves no provenance to skip).
                self._announcer.notify(outcome)
                dead_letters.report(self._settings, self._dead_letter_queue, source, exc)
            return outcome
        self._announcer.announce(outcome)
        return outcome

    def _make(self, source: SourceObject, relative: str) -> Outcome:
        """ObjectCreated: plan, check currency, write."""
        settings = self._settings
        keys = checked_keys(settings, source, relative)
        current = current_source(self._store, source, max_bytes=settings.max_input_bytes)
        if current is None:
            return missing(source)
        for marker in (
            markers(settings, relative, keys) if source.event_name != REMAKE_EVENT else ()
        ):
            reason = already_done(
                self._store, settings.output_bucket, marker, current, self._settings_hash
            )
            if reason:
                return Outcome(current, Status.IGNORED, reason=reason)
        outcome = self._writer.write(current, relative)
        # The source may have changed while the set was written: deleted (a delete handled
        # meanwhile found the set unwritten) or replaced (the newer set's writes may have landed
        # first, under ours). Whatever is current now is what the set must show.
        for _attempt in range(MAX_REMAKES):
            if outcome.status is not Status.WRITTEN:
                return outcome
            info = self._store.head(source.bucket, source.key)
            if info is None:
                delete_outputs(settings, self._store, current, relative)
                return missing(source)
            if normalise_etag(info.etag) == normalise_etag(current.etag):
                delete_stale(settings, self._store, current, relative, set(outcome.thumbnails))
                return outcome
            logger.info("the object was replaced while its set was written; remade")
            current = replace(
                current, etag=info.etag, size=info.size, version_id=info.version_id, sequencer=""
            )
            outcome = self._writer.write(current, relative)
        raise TransientError("the object kept changing while its set was written")

    def _follow_delete(self, source: SourceObject, relative: str) -> Outcome:
        """ObjectRemoved: with no object left, delete the set; with one (an older version
        deleted, or the current one, making an older current again, or a re-upload), make the
        set show the current object."""
        if self._store.head(source.bucket, source.key) is None:
            return delete_set(self._settings, self._store, source, relative)
        current = replace(
            source, event_name=BACKFILL_EVENT, etag="", size=None, version_id=None, sequencer=""
        )
        try:
            outcome = self._make(current, relative)
        except BadObjectError:
            # The current object makes no set (its own event reported it to the DLQ): nothing
            # of the deleted version may stay public.
            return delete_set(self._settings, self._store, source, relative)
        if outcome.status is Status.IGNORED:
            logger.info("the key still has a current object; its thumbnails are up to date")
            return Outcome(source, Status.IGNORED, reason="source_exists")
        return outcome

    def failure_record(
        self, source: SourceObject, *, reason: str, message: str, retryable: bool
    ) -> dict[str, Any]:
        """The DLQ record of `source` under this service's settings (redrive keeps its own)."""
        return dead_letters.failure_record(
            self._settings, source, reason=reason, message=message, retryable=retryable
        )

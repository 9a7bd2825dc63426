"""Is the work current? Whether an event's source is newer than what made the outputs, and
whether an output may be deleted, decided from the provenance each output carries (one
HeadObject each; provenance.py says what is recorded)."""

from __future__ import annotations

from dataclasses import replace

from aws_lambda_powertools.metrics import MetricUnit

from thumbnailer.errors import ObjectTooLargeError
from thumbnailer.models import SourceObject
from thumbnailer.observability import logger, metrics
from thumbnailer.provenance import Provenance, is_older_sequencer, key_digest, normalise_etag
from thumbnailer.storage import ObjectStore


def current_source(
    store: ObjectStore, source: SourceObject, *, max_bytes: int
) -> SourceObject | None:
    """`source` with an ETag (S3 Batch Operations tasks name none: the current object's is
    read), or None if there is no object; `ObjectTooLargeError` over `max_bytes`."""
    if not source.etag:
        info = store.head(source.bucket, source.key)
        if info is None:
            return None
        source = replace(source, etag=info.etag, size=info.size, version_id=info.version_id)
    if source.size is not None and source.size > max_bytes:
        raise ObjectTooLargeError(f"the object has {source.size} bytes; the limit is {max_bytes}")
    return source


def made_later(source: SourceObject, made_from: Provenance) -> bool:
    """True if the output was made by an event after `source`'s (sequencers of one key)."""
    return bool(
        source.sequencer
        and made_from.sequencer
        and is_older_sequencer(source.sequencer, made_from.sequencer)
    )


def already_done(
    store: ObjectStore, bucket: str, marker: str, source: SourceObject, settings_hash: str
) -> str | None:
    """Why the set needs no work ("up_to_date", "superseded"), or None: one HeadObject."""
    info = store.head(bucket, marker)
    made_from = Provenance.from_metadata(info.metadata) if info else None
    if made_from is None or made_from.key_digest != key_digest(source.key):
        # Missing, made before provenance was recorded, or made from another key with the
        # same name stem (photo.jpg and photo.png): sequencers of other keys do not compare.
        return None
    if made_later(source, made_from):
        logger.info(
            "an older event than the one that made the thumbnails; skipped",
            sequencer=source.sequencer,
            thumbnails_sequencer=made_from.sequencer,
        )
        metrics.add_metric(name="StaleEventsSkipped", unit=MetricUnit.Count, value=1)
        return "superseded"
    if made_from.etag == normalise_etag(source.etag) and made_from.settings_hash == settings_hash:
        logger.info("thumbnails are up to date; skipped", etag=made_from.etag)
        metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=1)
        return "up_to_date"
    return None


def may_delete(made_from: Provenance | None, source: SourceObject) -> bool:
    """Whether a delete event for `source` may remove an output made from `made_from`: not if
    it was made from another key with the same name stem, nor from an upload after the delete."""
    if made_from is None:
        return True
    return made_from.key_digest == key_digest(source.key) and not made_later(source, made_from)

"""Delete sync (ObjectRemoved): the source is gone, so is what it made, unless an output was
made from another key of the same name stem or by a later upload.

What to delete is found by listing the output bucket under the name's stem and keeping the
keys named as this name's outputs (`keys.is_output_of`), not from the manifest or the
configuration: a delete that failed partway, a set of widths or formats since unconfigured, or
a create that wrote after the delete began, leave nothing behind once the retry lists again.
The manifest goes first, so that no manifest ever lists a file already deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aws_lambda_powertools.metrics import MetricUnit

from thumbnailer.image.renditions import formats_for
from thumbnailer.keys import is_output_of, manifest_key, name_prefix, planned_keys
from thumbnailer.models import Outcome, SourceObject, Status
from thumbnailer.observability import logger, metrics
from thumbnailer.provenance import Provenance, key_digest
from thumbnailer.settings import Settings
from thumbnailer.stages.currency import may_delete
from thumbnailer.storage import ObjectStore


def delete_set(
    settings: Settings, store: ObjectStore, source: SourceObject, relative: str
) -> Outcome:
    """DELETED with the keys removed, or IGNORED ("nothing_to_delete")."""
    deleted = delete_outputs(settings, store, source, relative)
    if not deleted:
        return Outcome(source, Status.IGNORED, reason="nothing_to_delete")
    logger.info("source deleted; thumbnails deleted", thumbnails=deleted)
    return Outcome(source, Status.DELETED, deleted=tuple(deleted))


def delete_outputs(
    settings: Settings, store: ObjectStore, source: SourceObject, relative: str
) -> list[str]:
    """Delete every output of `relative` that `source`'s delete may remove; the keys deleted."""
    bucket = settings.output_bucket
    manifest = manifest_key(relative)
    listed = store.list_keys(bucket, name_prefix(relative))
    ours = sorted(
        (key for key in listed if is_output_of(key, relative)), key=lambda key: key != manifest
    )
    return _delete_each(store, bucket, ours, lambda made_from: may_delete(made_from, source))


def delete_stale(
    settings: Settings, store: ObjectStore, source: SourceObject, relative: str, written: set[str]
) -> list[str]:
    """After `source`'s set was written: delete the configured renditions it did not write
    but an earlier upload of the same key did (a still's AVIF files once an animation, which
    gets WebP only, replaced it), so that no format shows the old image. Widths, crops and
    formats neither stills nor animations get are left alone, as a front-end may still name
    them; with nothing a set could lack (no AVIF configured), nothing is even listed."""
    bucket, formats = settings.output_bucket, settings.output_formats
    configured = planned_keys(
        relative,
        widths=settings.thumb_widths,
        formats=[
            *dict.fromkeys(f for a in (False, True) for f in formats_for(formats, animated=a))
        ],
        crops=settings.crop_sizes,
    )
    candidates = set(configured) - written
    if not candidates:
        return []
    digest = key_digest(source.key)
    stale = _delete_each(
        store,
        bucket,
        sorted(candidates & set(store.list_keys(bucket, name_prefix(relative)))),
        lambda made_from: made_from is not None and made_from.key_digest == digest,
    )
    if stale:
        logger.info("renditions the new set does not have deleted", thumbnails=stale)
    return stale


def _delete_each(
    store: ObjectStore,
    bucket: str,
    keys: Iterable[str],
    may_go: Callable[[Provenance | None], bool],
) -> list[str]:
    """Delete, in order, each of `keys` still there whose provenance `may_go` allows; the keys
    deleted, counted in ThumbnailsDeleted."""
    deleted: list[str] = []
    for key in keys:
        info = store.head(bucket, key)
        if info is None or not may_go(Provenance.from_metadata(info.metadata)):
            continue
        store.delete(bucket, key)
        deleted.append(key)
    if deleted:
        metrics.add_metric(name="ThumbnailsDeleted", unit=MetricUnit.Count, value=len(deleted))
    return deleted

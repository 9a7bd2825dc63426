"""Delete sync (ObjectRemoved): the source is gone, so is what it made, unless the key has an
object again or an output was made by a later upload."""

from __future__ import annotations

import json

from aws_lambda_powertools.metrics import MetricUnit

from thumbnailer.errors import ObjectTooLargeError
from thumbnailer.models import Outcome, SourceObject, Status
from thumbnailer.observability import logger, metrics
from thumbnailer.provenance import Provenance
from thumbnailer.settings import Settings
from thumbnailer.stages.currency import may_delete
from thumbnailer.stages.plan import every_key
from thumbnailer.storage import ObjectStore

#: A manifest is a few KB; anything near this is not one of ours.
MAX_MANIFEST_BYTES = 2**20


def delete_set(
    settings: Settings, store: ObjectStore, source: SourceObject, relative: str
) -> Outcome:
    """DELETED with the keys removed, or IGNORED ("source_exists", "nothing_to_delete")."""
    if store.head(source.bucket, source.key) is not None:
        # Re-uploaded after the delete, or only an older version was deleted.
        logger.info("the key still has a current object; thumbnails kept")
        return Outcome(source, Status.IGNORED, reason="source_exists")
    keys = every_key(settings, relative)
    listed = listed_in_manifest(store, settings.output_bucket, keys[0])
    deleted: list[str] = []
    for key in [*keys, *sorted(set(listed) - set(keys))]:
        info = store.head(settings.output_bucket, key)
        if info is None or not may_delete(Provenance.from_metadata(info.metadata), source):
            continue
        store.delete(settings.output_bucket, key)
        deleted.append(key)
    if not deleted:
        return Outcome(source, Status.IGNORED, reason="nothing_to_delete")
    metrics.add_metric(name="ThumbnailsDeleted", unit=MetricUnit.Count, value=len(deleted))
    logger.info("source deleted; thumbnails deleted", thumbnails=deleted)
    return Outcome(source, Status.DELETED, deleted=tuple(deleted))


def listed_in_manifest(store: ObjectStore, bucket: str, key: str) -> list[str]:
    """The rendition keys a manifest lists (renditions since unconfigured, such as old crops,
    included); none if there is no manifest or it is unreadable."""
    try:
        data = store.read(bucket, key, max_bytes=MAX_MANIFEST_BYTES)  # None: no manifest
        return [item["key"] for item in json.loads(data or b"{}").get("renditions", [])]
    except (ObjectTooLargeError, ValueError, TypeError, KeyError, AttributeError):
        logger.warning("the manifest is unreadable; only configured renditions are deleted")
        return []

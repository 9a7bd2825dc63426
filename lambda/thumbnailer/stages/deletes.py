"""Delete sync (ObjectRemoved): the source is gone, so is what it made, unless an output was
made from another key of the same name stem or by a later upload.

What to delete is found by listing the output bucket under the name's stem and keeping the
keys named as this name's outputs (`keys.is_output_of`), not from the manifest or the
configuration: a delete that failed partway, a set of widths or formats since unconfigured, or
a create that wrote after the delete began, leave nothing behind once the retry lists again.
The manifest goes first, so that no manifest ever lists a file already deleted.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from thumbnailer.keys import is_output_of, manifest_key, name_prefix
from thumbnailer.models import Outcome, SourceObject, Status
from thumbnailer.observability import logger, metrics
from thumbnailer.provenance import Provenance
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
    found = [key for key in store.list_keys(bucket, name_prefix(relative))]
    ours = sorted(
        (key for key in found if is_output_of(key, relative)), key=lambda key: key != manifest
    )
    deleted: list[str] = []
    for key in ours:
        info = store.head(bucket, key)
        if info is None or not may_delete(Provenance.from_metadata(info.metadata), source):
            continue
        store.delete(bucket, key)
        deleted.append(key)
    if deleted:
        metrics.add_metric(name="ThumbnailsDeleted", unit=MetricUnit.Count, value=len(deleted))
    return deleted

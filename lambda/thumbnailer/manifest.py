"""`<name>.json`: what a front-end needs to show an upload's renditions. No AWS in here.

Written last, after every rendition, so that its presence means the set is complete. The
schema's field names are part of the public contract (docs/renditions.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thumbnailer.image.placeholder import Placeholder
    from thumbnailer.image.renditions import Rendition

MANIFEST_SCHEMA = "serverless-image-pipeline/manifest/v1"
CONTENT_TYPE = "application/json"


def manifest_document(
    *,
    source: Mapping[str, Any],
    renditions: Sequence[tuple[str, Rendition]],
    focus: tuple[float, float],
    placeholder: Placeholder,
) -> bytes:
    """The manifest: `source` (bucket, key, version_id, etag, format, width, height, bytes),
    each (key, rendition) written, the focus point and the placeholder."""
    document = {
        "schema": MANIFEST_SCHEMA,
        "source": dict(source),
        "renditions": [_rendition(key, rendition) for key, rendition in renditions],
        "focus": {"x": round(focus[0], 4), "y": round(focus[1], 4)},
        "placeholder": placeholder.as_dict(),
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


def _rendition(key: str, rendition: Rendition) -> dict[str, Any]:
    """One rendition: its `quality`, and its `score` (SSIMULACRA2) where AUTO_QUALITY measured
    it."""
    item = {
        "key": key,
        "format": rendition.format,
        "width": rendition.size[0],
        "height": rendition.size[1],
        "bytes": len(rendition.data),
        "quality": rendition.quality,
    }
    if rendition.score is not None:
        item["score"] = round(rendition.score, 2)
    return item

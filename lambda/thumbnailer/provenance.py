"""What made a thumbnail: its source (key, ETag, version, event sequencer) and the settings.

Recorded as S3 user metadata on every thumbnail, so that a repeat event, a backfill or a replay
can tell with one HeadObject whether the work is already done, and so that an event for an older
version of a key never overwrites thumbnails made from a newer one. No AWS in here.

S3 user metadata must be ASCII: the source key (often not ASCII) is recorded as a digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from thumbnailer.image.animation import DEFAULT_MAX_FRAMES

if TYPE_CHECKING:
    from thumbnailer.settings import Settings

#: Bump when the image core's output changes for the same settings (a bug fix, a new resampler):
#: every thumbnail then counts as out of date, and a backfill remakes them.
RENDITION_VERSION = 1

_KEY_DIGEST = "source-key-sha256"
_ETAG = "source-etag"
_VERSION_ID = "source-version-id"
_SEQUENCER = "source-sequencer"
_SETTINGS = "thumbnail-settings"
_SETTINGS_HASH = "settings-hash"
#: S3's cap on an object's user metadata: names and values, in bytes of UTF-8.
MAX_METADATA_BYTES = 2048
# The longest source fields an output records: a multipart ETag ("<32 hex>-10000"), a version
# id (S3's are 32 characters; 64 leaves room), a sequencer (S3's are 16 to 20 hex digits).
_LONGEST_SOURCE = {_ETAG: 38, _VERSION_ID: 64, _SEQUENCER: 32}


def settings_signature(
    widths: Sequence[int],
    quality: int,
    *,
    formats: Sequence[str] = ("webp",),
    avif_quality: int = 0,
    crops: Sequence[tuple[int, int]] = (),
    manifest: bool = False,
    quality_target: int | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> str:
    """The settings that shape the renditions, as readable ASCII.

    What is off by default is named only when on: with the defaults, the signature is the one
    thumbnails made before renditions existed carry, so that they stay up to date.
    """
    sizes = ",".join(str(width) for width in sorted(set(widths)))
    signature = f"widths={sizes};quality={quality}"
    if tuple(formats) != ("webp",):
        signature += f";formats={','.join(formats)}"
    if "avif" in formats:
        signature += f";avif_quality={avif_quality}"
    if crops:
        signature += ";crops=" + ",".join(f"{w}x{h}" for w, h in sorted(set(crops)))
    if manifest:
        signature += ";manifest=v1"
    if quality_target is not None:  # AUTO_QUALITY on
        signature += f";quality_target={quality_target}"
    if max_frames != DEFAULT_MAX_FRAMES:
        # An animation's set depends on it; named only when not the default (signatures made
        # before it was recorded stay up to date).
        signature += f";max_frames={max_frames}"
    return f"{signature};rendition={RENDITION_VERSION}"


def recorded_settings(settings: Settings) -> dict[str, Any]:
    """The settings a set is made with, as a dead-letter record names them (JSON): what a
    replay must run with to make the same set."""
    return {
        "thumb_sizes": list(settings.thumb_widths),
        "webp_quality": settings.webp_quality,
        "input_prefix": settings.input_prefix,
        "output_formats": list(settings.output_formats),
        "avif_quality": settings.avif_quality,
        "crop_sizes": [f"{w}x{h}" for w, h in settings.crop_sizes],
        "write_manifest": settings.write_manifest,
    }


def signature_of(settings: Settings) -> str:
    """`settings_signature` of the function's settings (those of `recorded_settings` that
    shape the renditions, and AUTO_QUALITY's target when it is on)."""
    return settings_signature(
        settings.thumb_widths,
        settings.webp_quality,
        formats=settings.output_formats,
        avif_quality=settings.avif_quality,
        crops=settings.crop_sizes,
        manifest=settings.write_manifest,
        quality_target=settings.quality_target if settings.auto_quality else None,
        max_frames=settings.max_animation_frames,
    )


def metadata_problem(settings: Settings) -> str:
    """Why outputs made under `settings` would carry more user metadata than S3 takes, or ""."""
    signature = signature_of(settings)
    metadata = Provenance(
        key_digest="0" * 32,
        etag="0" * _LONGEST_SOURCE[_ETAG],
        settings_hash=settings_hash(signature),
        settings=signature,
        version_id="0" * _LONGEST_SOURCE[_VERSION_ID],
        sequencer="0" * _LONGEST_SOURCE[_SEQUENCER],
    ).as_metadata()
    size = sum(len(name.encode()) + len(value.encode()) for name, value in metadata.items())
    if size <= MAX_METADATA_BYTES:
        return ""
    return (
        f"THUMB_SIZES and CROP_SIZES name too many renditions: the settings each output records "
        f"would take {size} bytes of S3 user metadata, over S3's {MAX_METADATA_BYTES}"
    )


def settings_hash(signature: str) -> str:
    return hashlib.sha256(signature.encode("ascii")).hexdigest()[:16]


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def normalise_etag(etag: str) -> str:
    """S3 quotes ETags in API responses but not in events."""
    return etag.strip().strip('"')


def is_older_sequencer(candidate: str, reference: str) -> bool:
    """True if `candidate` is an earlier event than `reference` for the same key.

    Sequencers are hex strings of varying length. AWS's rule: right-pad the shorter with zeros,
    then compare lexicographically (https://repost.aws/knowledge-center/s3-duplicate-sqs-messages).
    """
    width = max(len(candidate), len(reference))
    return candidate.upper().ljust(width, "0") < reference.upper().ljust(width, "0")


@dataclass(frozen=True)
class Provenance:
    """The source and settings a thumbnail was made from."""

    key_digest: str
    etag: str
    settings_hash: str
    settings: str = ""
    version_id: str | None = None
    sequencer: str = ""

    def as_metadata(self) -> dict[str, str]:
        metadata = {
            _KEY_DIGEST: self.key_digest,
            _ETAG: self.etag,
            _SETTINGS: self.settings,
            _SETTINGS_HASH: self.settings_hash,
        }
        if self.version_id:
            metadata[_VERSION_ID] = self.version_id
        if self.sequencer:
            metadata[_SEQUENCER] = self.sequencer
        return metadata

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> Provenance | None:
        """None for thumbnails that do not say where they came from (made before this existed)."""
        required = (metadata.get(_KEY_DIGEST), metadata.get(_ETAG), metadata.get(_SETTINGS_HASH))
        if not all(required):
            return None
        return cls(
            key_digest=metadata[_KEY_DIGEST],
            etag=metadata[_ETAG],
            settings_hash=metadata[_SETTINGS_HASH],
            settings=metadata.get(_SETTINGS, ""),
            version_id=metadata.get(_VERSION_ID) or None,
            sequencer=metadata.get(_SEQUENCER, ""),
        )

"""Making a set: read the named version of the source, render every rendition from one decode,
retire the old manifest, write the renditions (the marker last), then the manifest, and count
what was done.

Everything is encoded before anything is written: a bad image leaves no partial output.
"""

from __future__ import annotations

from time import perf_counter

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from thumbnailer.errors import SourceChangedError
from thumbnailer.image.encoders import CONTENT_TYPES
from thumbnailer.image.renditions import Rendition, RenditionSet, make_renditions
from thumbnailer.keys import manifest_key, rendition_key
from thumbnailer.manifest import CONTENT_TYPE as MANIFEST_CONTENT_TYPE
from thumbnailer.manifest import manifest_document
from thumbnailer.models import Outcome, SourceObject, Status
from thumbnailer.observability import logger, metrics, span
from thumbnailer.provenance import Provenance, key_digest, normalise_etag
from thumbnailer.settings import Settings
from thumbnailer.stages.plan import in_write_order, marker
from thumbnailer.storage import ObjectStore

# The manifest describes the current renditions: a client should revalidate it.
MANIFEST_CACHE_CONTROL = "public, max-age=60"


class Writer:
    """Writes the renditions of a source, and its manifest, to the output bucket."""

    def __init__(
        self, settings: Settings, store: ObjectStore, *, signature: str, settings_hash: str
    ) -> None:
        self._settings = settings
        self._store = store
        self._signature = signature
        self._settings_hash = settings_hash

    def write(self, source: SourceObject, relative: str) -> Outcome:
        """WRITTEN, or IGNORED ("superseded") / SKIPPED ("object_missing") if the named version
        is no longer the object's. Raises `BadObjectError` for a bad image."""
        settings = self._settings
        started = perf_counter()
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
            return missing(source)

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
                auto_quality=settings.auto_quality,
                quality_target=settings.quality_target,
            )
        if made.note:
            logger.warning(made.note)
        written = in_write_order(
            [(rendition_key(relative, r.name, r.format), r) for r in made.renditions],
            last=marker(settings, relative, made.renditions[0].format),
        )
        metadata = Provenance(
            key_digest=key_digest(source.key),
            etag=etag,
            settings_hash=self._settings_hash,
            settings=self._signature,
            version_id=source.version_id,
            sequencer=source.sequencer,
        ).as_metadata()
        if settings.write_manifest:
            # The old manifest goes before any file is overwritten, and the new one comes last:
            # a set that fails partway has no manifest (its retry writes one), never one that
            # describes other files than those in the bucket.
            self._store.delete(settings.output_bucket, manifest_key(relative))
        for key, rendition in written:
            self._store.write(
                settings.output_bucket,
                key,
                rendition.data,
                content_type=CONTENT_TYPES[rendition.format],
                cache_control=settings.cache_control,
                metadata=metadata,
            )
        manifest = ""
        if settings.write_manifest:
            manifest = manifest_key(relative)
            self._store.write(
                settings.output_bucket,
                manifest,
                _manifest(source, etag, len(data), made, written),
                content_type=MANIFEST_CONTENT_TYPE,
                # Rewritten in place when the source changes, unlike the renditions' keys.
                cache_control=MANIFEST_CACHE_CONTROL,
                metadata=metadata,
            )
        outcome = Outcome(
            source,
            Status.WRITTEN,
            thumbnails={key: rendition.size for key, rendition in written},
            manifest=manifest,
            bytes_in=len(data),
            bytes_out=sum(len(rendition.data) for _key, rendition in written),
            duration_ms=(perf_counter() - started) * 1000,
        )
        _count(outcome, written, made)
        return outcome


def missing(source: SourceObject) -> Outcome:
    logger.warning("the object no longer exists; skipped")
    return Outcome(source, Status.SKIPPED, reason="object_missing")


def _manifest(
    source: SourceObject,
    etag: str,
    size: int,
    made: RenditionSet,
    written: list[tuple[str, Rendition]],
) -> bytes:
    return manifest_document(
        source={
            "bucket": source.bucket,
            "key": source.key,
            "version_id": source.version_id,
            "etag": etag,
            "format": made.source_format,
            "width": made.size[0],
            "height": made.size[1],
            "bytes": size,
        },
        renditions=written,
        focus=made.focus or (0.5, 0.5),
        placeholder=made.placeholder,  # type: ignore[arg-type]
    )


def _count(outcome: Outcome, written: list[tuple[str, Rendition]], made: RenditionSet) -> None:
    metrics.add_metric(name="ThumbnailsWritten", unit=MetricUnit.Count, value=len(written))
    metrics.add_metric(
        name="ProcessingTime", unit=MetricUnit.Milliseconds, value=outcome.duration_ms
    )
    metrics.add_metric(name="BytesIn", unit=MetricUnit.Bytes, value=outcome.bytes_in)
    metrics.add_metric(name="BytesOut", unit=MetricUnit.Bytes, value=outcome.bytes_out)
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
        thumbnails=outcome.thumbnails,
        manifest=outcome.manifest or None,
        bytes_in=outcome.bytes_in,
        bytes_out=outcome.bytes_out,
        duration_ms=round(outcome.duration_ms, 1),
    )

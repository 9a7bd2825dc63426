"""The one place that reads the function's environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from thumbnailer.animation import DEFAULT_MAX_FRAMES
from thumbnailer.budget import DEFAULT_MEMORY_MB, pixel_budget
from thumbnailer.errors import SettingsError

#: The public contract: the environment variables the function reads (the template sets exactly
#: these, plus Powertools' own POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE).
ENV_VARS = (
    "OUTPUT_BUCKET",
    "THUMB_SIZES",
    "WEBP_QUALITY",
    "DLQ_URL",
    "INPUT_PREFIX",
    "MAX_INPUT_PIXELS",
    "MAX_ANIMATION_FRAMES",
    "NOTIFICATION_TOPIC_ARN",
    "CACHE_CONTROL",
    "OUTPUT_FORMATS",
    "AVIF_QUALITY",
    "CROP_SIZES",
    "WRITE_MANIFEST",
    "TRACING",
)
#: Read by boto3, not here. The template declares it empty (AWS's own endpoints) only so that
#: `sam local invoke --env-vars events/env.json` can set it: SAM sets declared variables only.
LOCAL_ENDPOINT_ENV_VAR = "AWS_ENDPOINT_URL"
#: Set by Lambda itself, never by the template: the function's memory, which sizes the default
#: pixel budget.
RUNTIME_ENV_VARS = ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE",)
#: Set by the template with Tracing=otel only, and read by Lambda and the ADOT layer, not here:
#: the layer's wrapper script, and Application Signals off (traces only, to X-Ray).
OTEL_LAYER_ENV_VARS = ("AWS_LAMBDA_EXEC_WRAPPER", "OTEL_AWS_APPLICATION_SIGNALS_ENABLED")

WEBP_MAX_SIDE = 16383
DEFAULT_THUMB_SIZES = "128,512"
DEFAULT_WEBP_QUALITY = "85"
DEFAULT_INPUT_PREFIX = "uploads/"
#: Browsers and the CDN may reuse a thumbnail for an hour, then show it once more while they
#: fetch it again: a replaced image shows everywhere within a day (keys do not change with it).
DEFAULT_CACHE_CONTROL = "public, max-age=3600, stale-while-revalidate=82800"
# The template's AllowedPattern for InputPrefix, so both refuse the same prefixes: one or more
# folders of S3's safe characters, each ending in "/".
INPUT_PREFIX_PATTERN = re.compile(r"([A-Za-z0-9!_.'()-]+/)+")
# A whole number in ASCII digits, no leading zeros (str.isdigit also takes "²", fullwidth...).
_WHOLE_NUMBER = re.compile(r"0|[1-9][0-9]*")
# An HTTP header value S3 stores as given: visible ASCII and spaces, no control characters.
_HEADER_VALUE = re.compile(r"[ -~]+")
#: Every rendition is written once per format, in this order of preference.
OUTPUT_FORMATS = ("webp", "avif")
DEFAULT_OUTPUT_FORMATS = "webp"
#: Chosen by measurement (`make bench`, docs/renditions.md): the lowest AVIF quality whose SSIM
#: against the source is the WebP thumbnail's at WEBP_QUALITY=85 (to 0.0005) on every bench photo
#: at 512w and 128w. 512w needs only 55; 128w needs 70. At 70 the bench's photos are 6 to 20%
#: smaller than WebP at 512w, -5 to 9% at 128w; the PNG with alpha 74% and 51%.
DEFAULT_AVIF_QUALITY = "70"
#: Which tracer observability.py sets up (docs/configuration.md#tracing): the X-Ray SDK under
#: Powertools, OpenTelemetry from the ADOT layer, or none.
TRACING_MODES = ("xray", "otel", "off")
DEFAULT_TRACING = "xray"


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Build it once with `Settings.from_env()`."""

    output_bucket: str
    dlq_url: str
    thumb_widths: tuple[int, ...] = (128, 512)
    webp_quality: int = 85
    input_prefix: str = DEFAULT_INPUT_PREFIX
    # The thumbnails' Cache-Control header.
    cache_control: str = DEFAULT_CACHE_CONTROL
    # Empty: notifications are off.
    notification_topic_arn: str = ""
    # What one upload may cost in decoded pixels, after shrink-on-load (see budget.py).
    max_input_pixels: int = pixel_budget(DEFAULT_MEMORY_MB)
    # Frames kept of an animated GIF or WebP; the rest are dropped (see animation.py).
    max_animation_frames: int = DEFAULT_MAX_FRAMES
    # Renditions (docs/renditions.md): formats, square-or-any cover crops, a JSON manifest.
    output_formats: tuple[str, ...] = ("webp",)
    avif_quality: int = int(DEFAULT_AVIF_QUALITY)
    crop_sizes: tuple[tuple[int, int], ...] = ()
    write_manifest: bool = False
    # The tracer; observability.py reads it with `tracing_from_env` before this object exists.
    tracing: str = DEFAULT_TRACING
    # A limit that protects the function's memory; not (yet) part of the env contract.
    max_input_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parse and validate the environment; raise one `SettingsError` naming every problem."""
        env = os.environ if env is None else env
        problems: list[str] = []

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                problems.append(f"{name} is required and is empty or unset")
            return value

        output_bucket = required("OUTPUT_BUCKET")
        dlq_url = required("DLQ_URL")
        if dlq_url and not dlq_url.startswith(("https://", "http://")):
            problems.append(f"DLQ_URL must be an SQS queue URL, got {dlq_url!r}")
        widths = _parse_widths(env.get("THUMB_SIZES", DEFAULT_THUMB_SIZES), problems)
        quality = _parse_quality(
            "WEBP_QUALITY", env.get("WEBP_QUALITY", DEFAULT_WEBP_QUALITY), problems
        )
        formats = _parse_formats(env.get("OUTPUT_FORMATS", DEFAULT_OUTPUT_FORMATS), problems)
        avif_quality = _parse_quality(
            "AVIF_QUALITY", env.get("AVIF_QUALITY", DEFAULT_AVIF_QUALITY), problems
        )
        crops = _parse_crops(env.get("CROP_SIZES", ""), problems)
        write_manifest = _parse_flag("WRITE_MANIFEST", env.get("WRITE_MANIFEST", "false"), problems)
        tracing = _parse_tracing(env.get("TRACING", DEFAULT_TRACING), problems)
        input_prefix = env.get("INPUT_PREFIX", DEFAULT_INPUT_PREFIX)
        if not INPUT_PREFIX_PATTERN.fullmatch(input_prefix):
            problems.append(
                f"INPUT_PREFIX must be one or more folders, each of letters, digits and "
                f"!_.'()- ending in '/', got {input_prefix!r}"
            )
        cache_control = env.get("CACHE_CONTROL", DEFAULT_CACHE_CONTROL)
        if not _HEADER_VALUE.fullmatch(cache_control):
            problems.append(
                f"CACHE_CONTROL must be a non-empty header value of printable ASCII, "
                f"got {cache_control!r}"
            )
        memory_mb = _parse_count(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(DEFAULT_MEMORY_MB)),
            problems,
            minimum=1,
        )
        # 0 (the template's default) sizes the budget to the function's memory.
        max_pixels = _parse_count(
            "MAX_INPUT_PIXELS", env.get("MAX_INPUT_PIXELS", "0"), problems, minimum=0
        )
        max_frames = _parse_count(
            "MAX_ANIMATION_FRAMES",
            env.get("MAX_ANIMATION_FRAMES", str(DEFAULT_MAX_FRAMES)),
            problems,
            minimum=1,
        )
        topic_arn = env.get("NOTIFICATION_TOPIC_ARN", "").strip()
        if topic_arn and not (topic_arn.startswith("arn:") and ":sns:" in topic_arn):
            problems.append(f"NOTIFICATION_TOPIC_ARN must be an SNS topic ARN, got {topic_arn!r}")

        if problems:
            raise SettingsError("invalid configuration: " + "; ".join(problems))
        return cls(
            output_bucket=output_bucket,
            dlq_url=dlq_url,
            thumb_widths=widths,
            webp_quality=quality,
            input_prefix=input_prefix,
            cache_control=cache_control,
            max_input_pixels=max_pixels or pixel_budget(memory_mb),
            max_animation_frames=max_frames,
            notification_topic_arn=topic_arn,
            output_formats=formats,
            avif_quality=avif_quality,
            crop_sizes=crops,
            write_manifest=write_manifest,
            tracing=tracing,
        )


def tracing_from_env(env: Mapping[str, str] | None = None) -> str:
    """TRACING alone, for observability.py: the tracer is chosen at import, before `from_env`
    runs. Raises `SettingsError` for a value the template would refuse."""
    problems: list[str] = []
    tracing = _parse_tracing(
        (os.environ if env is None else env).get("TRACING", DEFAULT_TRACING), problems
    )
    if problems:
        raise SettingsError("invalid configuration: " + "; ".join(problems))
    return tracing


def _parse_tracing(raw: str, problems: list[str]) -> str:
    if raw not in TRACING_MODES:
        problems.append(f"TRACING must be one of {', '.join(TRACING_MODES)}, got {raw!r}")
        return DEFAULT_TRACING
    return raw


def _parse_widths(raw: str, problems: list[str]) -> tuple[int, ...]:
    widths: set[int] = set()
    for part in raw.split(","):
        text = part.strip()
        if not _WHOLE_NUMBER.fullmatch(text) or not 1 <= int(text) <= WEBP_MAX_SIDE:
            problems.append(
                f"THUMB_SIZES must be a comma-separated list of widths from 1 to "
                f"{WEBP_MAX_SIDE} pixels, got {raw!r}"
            )
            return ()
        widths.add(int(text))
    return tuple(sorted(widths))


def _parse_quality(name: str, raw: str, problems: list[str]) -> int:
    text = raw.strip()
    if not _WHOLE_NUMBER.fullmatch(text) or not 0 <= int(text) <= 100:
        problems.append(f"{name} must be a whole number from 0 to 100, got {raw!r}")
        return 0
    return int(text)


def _parse_count(name: str, raw: str, problems: list[str], *, minimum: int) -> int:
    text = raw.strip()
    if not _WHOLE_NUMBER.fullmatch(text) or int(text) < minimum:
        problems.append(f"{name} must be a whole number of at least {minimum}, got {raw!r}")
        return minimum
    return int(text)


def _parse_formats(raw: str, problems: list[str]) -> tuple[str, ...]:
    """`webp`, `avif` or both, comma-separated (the template's AllowedPattern); in
    OUTPUT_FORMATS' order."""
    given = raw.split(",")
    if any(name not in OUTPUT_FORMATS for name in given):
        problems.append(
            f"OUTPUT_FORMATS must be a comma-separated list of {' and '.join(OUTPUT_FORMATS)}, "
            f"got {raw!r}"
        )
        return ("webp",)
    return tuple(name for name in OUTPUT_FORMATS if name in given)


_CROP_BOX = re.compile(r"([1-9][0-9]*)x([1-9][0-9]*)")


def _parse_crops(raw: str, problems: list[str]) -> tuple[tuple[int, int], ...]:
    """Comma-separated `WxH` boxes (`256x256,1200x630`); empty means no crops."""
    if not raw:
        return ()
    boxes: set[tuple[int, int]] = set()
    for part in raw.split(","):
        match = _CROP_BOX.fullmatch(part)
        if not match or max(int(match[1]), int(match[2])) > WEBP_MAX_SIDE:
            problems.append(
                f"CROP_SIZES must be empty or a comma-separated list of WxH boxes (e.g. "
                f"256x256,1200x630), each side from 1 to {WEBP_MAX_SIDE} pixels, got {raw!r}"
            )
            return ()
        boxes.add((int(match[1]), int(match[2])))
    return tuple(sorted(boxes))


def _parse_flag(name: str, raw: str, problems: list[str]) -> bool:
    if raw not in ("true", "false"):
        problems.append(f"{name} must be true or false, got {raw!r}")
        return False
    return raw == "true"

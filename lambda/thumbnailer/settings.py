"""The one place that reads the function's environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from thumbnailer.env_values import (
    parse_count,
    parse_crops,
    parse_flag,
    parse_formats,
    parse_quality,
    parse_widths,
)
from thumbnailer.errors import SettingsError
from thumbnailer.image.animation import DEFAULT_MAX_FRAMES
from thumbnailer.image.budget import DEFAULT_MEMORY_MB, MIN_BUDGET_PIXELS, pixel_budget
from thumbnailer.image.encoders import DEFAULT_AVIF_QUALITY, DEFAULT_WEBP_QUALITY
from thumbnailer.image.quality import DEFAULT_QUALITY_TARGET

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
    "AUTO_QUALITY",
    "QUALITY_TARGET",
    "TRACING",
)
#: Read by boto3, not here. The template declares it empty (AWS's own endpoints) only so that
#: `sam local invoke --env-vars events/env.json` can set it: SAM sets declared variables only.
LOCAL_ENDPOINT_ENV_VAR = "AWS_ENDPOINT_URL"
#: Set by Lambda itself, never by the template: the function's memory, which sizes the default
#: pixel budget.
RUNTIME_ENV_VARS = ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE",)

DEFAULT_THUMB_WIDTHS = (128, 512)
DEFAULT_INPUT_PREFIX = "uploads/"
#: Browsers and the CDN may reuse a thumbnail for an hour, then show it once more while they
#: fetch it again: a replaced image shows everywhere within a day (keys do not change with it).
DEFAULT_CACHE_CONTROL = "public, max-age=3600, stale-while-revalidate=82800"
# The template's AllowedPattern for InputPrefix, so both refuse the same prefixes: one or more
# folders of S3's safe characters, each ending in "/".
INPUT_PREFIX_PATTERN = re.compile(r"([A-Za-z0-9!_.'()-]+/)+")
# An HTTP header value S3 stores as given: visible ASCII and spaces, no control characters.
_HEADER_VALUE = re.compile(r"[ -~]+")
#: Every rendition is written once per format, in the encoders' FORMATS order of preference.
DEFAULT_OUTPUT_FORMATS = ("webp",)
#: The tracers observability.py can set up, the default first (docs/configuration.md#tracing).
TRACING_MODES = ("xray", "otel", "off")


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Build it once with `Settings.from_env()`."""

    output_bucket: str
    dlq_url: str
    thumb_widths: tuple[int, ...] = DEFAULT_THUMB_WIDTHS
    webp_quality: int = DEFAULT_WEBP_QUALITY
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
    output_formats: tuple[str, ...] = DEFAULT_OUTPUT_FORMATS
    avif_quality: int = DEFAULT_AVIF_QUALITY
    crop_sizes: tuple[tuple[int, int], ...] = ()
    write_manifest: bool = False
    # Each rendition at the lowest quality that reaches a SSIMULACRA2 score (image/quality.py).
    auto_quality: bool = False
    quality_target: int = DEFAULT_QUALITY_TARGET
    # The tracer: observability.py has set it up already, from `tracing_from_env`.
    tracing: str = TRACING_MODES[0]
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
        widths = parse_widths(
            env.get("THUMB_SIZES", ",".join(map(str, DEFAULT_THUMB_WIDTHS))), problems
        )
        quality = parse_quality(
            "WEBP_QUALITY", env.get("WEBP_QUALITY", str(DEFAULT_WEBP_QUALITY)), problems
        )
        formats = parse_formats(
            env.get("OUTPUT_FORMATS", ",".join(DEFAULT_OUTPUT_FORMATS)), problems
        )
        avif_quality = parse_quality(
            "AVIF_QUALITY", env.get("AVIF_QUALITY", str(DEFAULT_AVIF_QUALITY)), problems
        )
        crops = parse_crops(env.get("CROP_SIZES", ""), problems)
        write_manifest = parse_flag("WRITE_MANIFEST", env.get("WRITE_MANIFEST", "false"), problems)
        auto_quality = parse_flag("AUTO_QUALITY", env.get("AUTO_QUALITY", "false"), problems)
        target = parse_quality(
            "QUALITY_TARGET", env.get("QUALITY_TARGET", str(DEFAULT_QUALITY_TARGET)), problems
        )
        tracing = tracing_from_env(env, problems)
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

        def count(name: str, default: int, minimum: int) -> int:
            return parse_count(name, env.get(name, str(default)), problems, minimum=minimum)

        memory_mb = count("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", DEFAULT_MEMORY_MB, 1)
        # 0 (the template's default) sizes the budget to the function's memory.
        max_pixels = count("MAX_INPUT_PIXELS", 0, 0)
        if 0 < max_pixels < MIN_BUDGET_PIXELS:
            # Below it every ordinary photo would be refused: every upload to the DLQ.
            problems.append(
                f"MAX_INPUT_PIXELS must be 0 (sized to the memory) or at least "
                f"{MIN_BUDGET_PIXELS} (a phone photo), got {max_pixels}"
            )
        max_frames = count("MAX_ANIMATION_FRAMES", DEFAULT_MAX_FRAMES, 1)
        topic_arn = env.get("NOTIFICATION_TOPIC_ARN", "").strip()
        if topic_arn and not (topic_arn.startswith("arn:") and ":sns:" in topic_arn):
            problems.append(f"NOTIFICATION_TOPIC_ARN must be an SNS topic ARN, got {topic_arn!r}")

        if problems:
            raise SettingsError("invalid configuration: " + "; ".join(problems))
        settings = cls(
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
            auto_quality=auto_quality,
            quality_target=target,
            tracing=tracing,
        )
        # Every output records its settings in S3 user metadata, which S3 caps at 2 KB: too many
        # widths would pass here and then fail every upload as if the world had.
        from thumbnailer.provenance import metadata_problem

        problem = metadata_problem(settings)
        if problem:
            raise SettingsError(f"invalid configuration: {problem}")
        return settings


def tracing_from_env(env: Mapping[str, str] = os.environ, problems: list[str] | None = None) -> str:
    """TRACING. observability.py reads it alone, at import, before `from_env`: a value the
    template would refuse raises there at once; `from_env` adds it to its `problems`."""
    mode = env.get("TRACING", TRACING_MODES[0])
    if mode not in TRACING_MODES:
        problem = f"TRACING must be one of {', '.join(TRACING_MODES)}, got {mode!r}"
        if problems is None:
            raise SettingsError(f"invalid configuration: {problem}")
        problems.append(problem)
    return mode

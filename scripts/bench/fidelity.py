"""The bench's quality figures and the measurements behind the image core's choices: PSNR against
an exact reference, the WebP method, the shrink-on-load margin and Pillow's reducing gap."""

from __future__ import annotations

import time
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from scripts.bench.engines import CACHE, ENGINES, QUALITY, WIDTHS, Case

# --- quality ---------------------------------------------------------------------------------


def reference_512(data: bytes):
    """512 px wide without shortcuts: full decode, orientation, sRGB, one exact Lanczos."""
    from PIL import Image, ImageOps

    from thumbnailer.image.colour import to_srgb
    from thumbnailer.image.formats import load_decoder, sniff_format
    from thumbnailer.image.geometry import target_size
    from thumbnailer.image.resize import to_resizable_mode

    image = Image.open(BytesIO(data), formats=[load_decoder(sniff_format(data[:64]) or "")])
    icc_profile = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    image = to_srgb(to_resizable_mode(image), icc_profile)
    return image.resize(target_size(image.size, 512), Image.Resampling.LANCZOS)


def quality_figures(data: bytes, out_dir: Path) -> dict[str, float]:
    """PSNR (dB) of each engine's final 512w, and of our resize alone, vs the reference."""
    from PIL import Image

    from scripts.support.quality import psnr
    from thumbnailer.image.render import render

    figures: dict[str, float] = {}
    try:
        reference = reference_512(data)
        ours_resized = render(data, WIDTHS, max_pixels=10**10).frames[512][0]
        figures["resize"] = psnr(ours_resized, reference)
    except Exception:  # noqa: BLE001 - unreadable by the reference: no figure
        return figures
    for engine in (*ENGINES, "handler"):
        path = out_dir / f"{engine}_512.webp"
        if path.exists():
            with Image.open(path) as thumb:
                if thumb.size == reference.size:
                    figures[engine] = psnr(thumb.convert("RGBA"), reference)
    return figures


# --- side tables -----------------------------------------------------------------------------


def webp_methods(still: Case, animated: Case) -> list[tuple[int, float, int, float, float, int]]:
    """Per libwebp method 0..6: ms and bytes of a 512w + 128w pair of a still, its 512w PSNR,
    and ms and bytes of the same pair of an animation."""
    from PIL import Image

    from scripts.support.quality import psnr
    from thumbnailer.image import encoders
    from thumbnailer.image.render import render

    still_data = still.path.read_bytes()
    still_frames = render(still_data, WIDTHS, max_pixels=10**10).frames
    reference = reference_512(still_data)
    animation = render(animated.path.read_bytes(), WIDTHS, max_pixels=10**10)

    def timed(frames, timing, runs: int) -> tuple[float, list[bytes]]:
        best, encoded = float("inf"), []
        for _ in range(runs):
            started = time.perf_counter()
            encoded = [
                encoders.encode_webp(frames[w], quality=QUALITY, timing=timing) for w in WIDTHS
            ]
            best = min(best, (time.perf_counter() - started) * 1000)
        return best, encoded

    rows = []
    chosen = encoders.WEBP_METHOD, encoders.WEBP_ANIMATION_METHOD
    for method in range(7):
        try:
            encoders.WEBP_METHOD = encoders.WEBP_ANIMATION_METHOD = method
            still_ms, encoded = timed(still_frames, None, 7)
            animation_ms, animated_encoded = timed(animation.frames, animation.timing, 1)
        finally:
            encoders.WEBP_METHOD, encoders.WEBP_ANIMATION_METHOD = chosen
        quality = psnr(Image.open(BytesIO(encoded[0])), reference)
        rows.append(
            (
                method,
                still_ms,
                sum(len(e) for e in encoded),
                quality,
                animation_ms,
                sum(len(e) for e in animated_encoded),
            )
        )
    return rows


def zone_plate_jpeg() -> Path:
    """The aliasing test chart, as a 6 MP JPEG."""
    path = CACHE / "zone-plate-6mp.jpg"
    if not path.exists():
        from scripts.support.sample_images import encode, zone_plate

        path.write_bytes(encode(zone_plate(3000, 2000), "JPEG", quality=95))
    return path


def imaging_variants(
    setting: str, values: Sequence[float], cases: Sequence[Path]
) -> list[tuple[str, float, float, float]]:
    """(image, value, render CPU ms, resize PSNR) for each value of one of the image core's
    settings (decode.SHRINK_ON_LOAD_MARGIN, resize.REDUCING_GAP), the chosen value restored
    after."""
    import importlib

    from scripts.support.quality import psnr
    from thumbnailer.image.render import render

    module_name, name = setting.split(".")
    module = importlib.import_module(f"thumbnailer.image.{module_name}")
    rows = []
    chosen = getattr(module, name)
    try:
        for path in cases:
            data = path.read_bytes()
            reference = reference_512(data)
            for value in values:
                setattr(module, name, value)
                best = float("inf")
                for _ in range(5):
                    started = time.process_time()
                    made = render(data, WIDTHS, max_pixels=10**10)
                    best = min(best, (time.process_time() - started) * 1000)
                rows.append((path.name, value, best, psnr(made.frames[512][0], reference)))
    finally:
        setattr(module, name, chosen)
    return rows

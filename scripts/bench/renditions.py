"""`make bench`'s renditions rows: AVIF against WebP (bytes, time, SSIM), the AVIF quality and
speed chosen from them, animated AVIF, and what crops and the manifest cost.

SSIM (scripts/support/quality.py: luma, 8x8 windows) of each thumbnail against an exact
Lanczos of the fully decoded source, as `make bench`'s PSNR is.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any

from PIL import Image

WIDTHS = (512, 128)
WEBP_QUALITY = 85
AVIF_QUALITIES = (50, 55, 60, 65, 70, 75, 80)
#: SSIM differences this small are measurement noise, far below what anyone can see.
SSIM_TOLERANCE = 0.0005
AVIF_SPEEDS = (4, 5, 6, 7, 8, 9)


def best_ms(make: Callable[[], Any], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        make()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def reference(data: bytes, width: int) -> Image.Image:
    from scripts.bench.fidelity import reference_512
    from thumbnailer.image.geometry import target_size

    full = reference_512(data)  # oriented, sRGB, 512 wide
    if width == 512:
        return full
    return full.resize(target_size(full.size, width), Image.Resampling.LANCZOS)


def avif_against_webp(photos: Sequence[tuple[str, bytes]]) -> dict[str, Any]:
    """Per photo and width: WebP's bytes and SSIM, and AVIF's at each candidate quality; the
    lowest quality whose SSIM is at least WebP's everywhere is the one to choose."""
    from scripts.support.quality import ssim
    from thumbnailer.image.encoders import encode_avif, encode_webp
    from thumbnailer.image.render import render

    rows = []
    for name, data in photos:
        frames = render(data, WIDTHS, max_pixels=10**10).frames
        for width in WIDTHS:
            picture, target = frames[width][0], reference(data, width)
            if picture.size != target.size:
                continue
            webp = encode_webp([picture], quality=WEBP_QUALITY)
            row = {
                "photo": name,
                "width": width,
                "webp_bytes": len(webp),
                "webp_ms": best_ms(lambda p=picture: encode_webp([p], quality=WEBP_QUALITY), 3),
                "webp_ssim": ssim(Image.open(BytesIO(webp)), target),
                "avif": {},
            }
            for quality in AVIF_QUALITIES:
                avif = encode_avif(picture, quality=quality)
                row["avif"][quality] = (len(avif), ssim(Image.open(BytesIO(avif)), target))
            rows.append(row)
    chosen = next(
        (
            q
            for q in AVIF_QUALITIES
            if all(r["avif"][q][1] >= r["webp_ssim"] - SSIM_TOLERANCE for r in rows)
        ),
        AVIF_QUALITIES[-1],
    )
    return {"rows": rows, "chosen": chosen}


def avif_speeds(photos: Sequence[tuple[str, bytes]], quality: int) -> list[tuple[int, float, int]]:
    """(speed, ms, bytes) of a 512w + 128w pair, averaged over the photos."""
    from thumbnailer.image.encoders import encode_avif
    from thumbnailer.image.render import render

    pictures = [render(data, WIDTHS, max_pixels=10**10).frames for _name, data in photos]
    rows = []
    for speed in AVIF_SPEEDS:
        ms = [
            best_ms(
                lambda f=frames, s=speed: [
                    encode_avif(f[w][0], quality=quality, speed=s) for w in WIDTHS
                ],
                3,
            )
            for frames in pictures
        ]
        size = [
            sum(len(encode_avif(f[w][0], quality=quality, speed=speed)) for w in WIDTHS)
            for f in pictures
        ]
        rows.append((speed, statistics.mean(ms), round(statistics.mean(size))))
    return rows


def animated_avif(data: bytes, quality: int, speed: int) -> dict[str, float]:
    """The 512w of an animation as WebP (what is written) and as AVIF (what is not)."""
    from scripts.support.quality import ssim
    from thumbnailer.image.encoders import encode_webp
    from thumbnailer.image.render import render

    rendering = render(data, (512,), max_pixels=10**10)
    frames, timing = rendering.frames[512], rendering.timing
    started = time.perf_counter()
    webp = encode_webp(frames, quality=WEBP_QUALITY, timing=timing)
    webp_ms = (time.perf_counter() - started) * 1000
    buffer = BytesIO()
    started = time.perf_counter()
    frames[0].save(
        buffer, "AVIF", save_all=True, append_images=frames[1:], quality=quality, speed=speed,
        duration=list(timing.durations), loop=timing.loop,
    )  # fmt: skip
    avif_ms = (time.perf_counter() - started) * 1000
    scores: dict[str, list[float]] = {"webp": [], "avif": []}
    for fmt, encoded in (("webp", webp), ("avif", buffer.getvalue())):
        shown = Image.open(BytesIO(encoded))
        for index in range(0, len(frames), max(1, len(frames) // 5)):
            shown.seek(index)
            scores[fmt].append(ssim(shown.convert("RGB"), frames[index].convert("RGB")))
    return {
        "webp_ms": webp_ms,
        "webp_bytes": len(webp),
        "webp_ssim": statistics.mean(scores["webp"]),
        "avif_ms": avif_ms,
        "avif_bytes": len(buffer.getvalue()),
        "avif_ssim": statistics.mean(scores["avif"]),
    }


#: What each configuration adds, measured on one photo in one run (same load on both sides).
CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "default (WebP 128w, 512w)": {},
    "+ AVIF": {"formats": ("webp", "avif")},
    "+ crops 256x256, 1200x630": {"crops": ((256, 256), (1200, 630))},
    "+ manifest (focus, BlurHash)": {"describe": True},
    "all on": {"formats": ("webp", "avif"), "crops": ((256, 256), (1200, 630)), "describe": True},
}


def configurations(data: bytes, runs: int = 5) -> list[tuple[str, float, int]]:
    """(configuration, ms, bytes out) of `make_renditions`, and of what came before it: one
    decode, then one WebP per width (the function before renditions existed)."""
    from thumbnailer.image.encoders import encode_webp
    from thumbnailer.image.render import render
    from thumbnailer.image.renditions import make_renditions

    def thumbnails() -> int:
        made = render(data, WIDTHS, max_pixels=10**10)
        return sum(
            len(encode_webp(frames, quality=WEBP_QUALITY, timing=made.timing))
            for frames in made.frames.values()
        )

    rows = [("before renditions (one WebP per width)", best_ms(thumbnails, runs), thumbnails())]
    for name, options in CONFIGURATIONS.items():

        def renditions(options: dict[str, Any] = options) -> int:
            made = make_renditions(data, WIDTHS, quality=WEBP_QUALITY, max_pixels=10**10, **options)
            return sum(len(r.data) for r in made.renditions)

        rows.append((name, best_ms(renditions, runs), renditions()))
    return rows


def description_costs(data: bytes) -> dict[str, float]:
    """ms of the saliency map + focus, and of the placeholders, on the 128w thumbnail."""
    from thumbnailer.image.placeholder import data_url, placeholder_for, thumbhash
    from thumbnailer.image.render import render
    from thumbnailer.image.saliency import SaliencyMap

    picture = render(data, (128,), max_pixels=10**10).frames[128][0]
    return {
        "saliency": best_ms(lambda: SaliencyMap(picture).focus(), 7),
        "placeholder": best_ms(lambda: placeholder_for(picture), 7),
        "data_url": best_ms(lambda: data_url(picture, picture.size), 7),
        "thumbhash": best_ms(lambda: thumbhash(picture), 7),
        "data_url_chars": len(placeholder_for(picture).data_url),
    }


def report(photos: Sequence[tuple[str, bytes]], animation: bytes) -> tuple[str, dict[str, Any]]:
    """The renditions section of `make bench`, as Markdown, and its figures."""
    from thumbnailer.image.encoders import AVIF_SPEED, DEFAULT_AVIF_QUALITY

    quality = int(DEFAULT_AVIF_QUALITY)
    comparison = avif_against_webp(photos)
    speeds = avif_speeds(photos[:3], quality)
    moving = animated_avif(animation, quality, AVIF_SPEED)
    costs = configurations(photos[2][1])
    described = description_costs(photos[2][1])
    lines = [
        f"| Photo | Width | WebP q{WEBP_QUALITY}: bytes | SSIM | ms | "
        f"AVIF q{quality}: bytes | SSIM | saved |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in comparison["rows"]:
        avif_bytes, avif_ssim = row["avif"][quality]
        lines.append(
            f"| {row['photo']} | {row['width']} | {row['webp_bytes']:,} | {row['webp_ssim']:.4f} "
            f"| {row['webp_ms']:.1f} | {avif_bytes:,} | {avif_ssim:.4f} "
            f"| {1 - avif_bytes / row['webp_bytes']:.0%} |"
        )
    lines.append(
        f"\nLowest AVIF quality whose SSIM >= WebP q{WEBP_QUALITY}'s - {SSIM_TOLERANCE} on every "
        f"photo and width: "
        f"{comparison['chosen']} (AVIF_QUALITY default: {quality}); candidates "
        + ", ".join(
            f"q{q} {min(r['avif'][q][1] - r['webp_ssim'] for r in comparison['rows']):+.4f}"
            for q in AVIF_QUALITIES
        )
        + " (worst SSIM margin over WebP)\n"
    )
    lines += ["| AVIF speed | ms (512w + 128w) | bytes |", "| ---: | ---: | ---: |"]
    lines += [f"| {speed} | {ms:.1f} | {size:,} |" for speed, ms, size in speeds]
    lines.append(f"(chosen: {AVIF_SPEED}; q{quality}, mean of {len(photos[:3])} photos)\n")
    lines.append(
        f"Animated 512w (100-frame GIF): WebP {moving['webp_ms']:.0f} ms, "
        f"{moving['webp_bytes']:,} B, SSIM {moving['webp_ssim']:.3f}; AVIF q{quality} speed "
        f"{AVIF_SPEED} {moving['avif_ms']:.0f} ms, {moving['avif_bytes']:,} B, SSIM "
        f"{moving['avif_ssim']:.3f}: not written (it does not look the same)\n"
    )
    lines += ["| Renditions of the 12 MP JPEG | ms | bytes out |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {ms:.0f} | {size:,} |" for name, ms, size in costs]
    lines.append(
        f"\nOn the 128w thumbnail: saliency + focus {described['saliency']:.1f} ms; placeholder "
        f"{described['placeholder']:.1f} ms in all, of which data_url {described['data_url']:.1f} "
        f"ms ({described['data_url_chars']} characters) and ThumbHash "
        f"{described['thumbhash']:.1f} ms, the rest BlurHash and the dominant colour"
    )
    figures = {
        "comparison": comparison,
        "speeds": speeds,
        "animated": moving,
        "configurations": costs,
        "description_ms": described,
    }
    return "\n".join(lines), figures

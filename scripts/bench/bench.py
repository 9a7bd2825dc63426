"""`make bench`: the image core against the usual tutorial code (and libvips), on a generated
corpus and on any directory you name. Not a test: it prints figures and checks the targets.

    python -m scripts.bench.bench                 # the generated corpus (cached in .bench/)
    python -m scripts.bench.bench ~/Pictures      # ... and every file in a directory of your own

Every measurement runs in a fresh process, so peak memory (VmHWM) is that case's own. Each
process decodes the image once untimed (plugins load, caches warm up, as in a warm Lambda),
then the best of its timed runs is reported: on a shared machine the fastest run is the one
least disturbed by other work (the median is kept in .bench/results.json). libvips runs with
VIPS_CONCURRENCY=1 because Lambda below 1769 MB has a single vCPU; Pillow is single-threaded
too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from scripts.bench.engines import (
    CACHE,
    ENGINES,
    HANDLER_ENV,
    QUALITY,
    REPO,
    WIDTHS,
    Case,
    corpus,
    directory_cases,
    measure,
    worker,
)

# --- quality ---------------------------------------------------------------------------------


def reference_512(data: bytes):
    """512 px wide without shortcuts: full decode, orientation, sRGB, one exact Lanczos."""
    from PIL import Image, ImageOps

    from thumbnailer.colour import to_srgb
    from thumbnailer.formats import load_decoder, sniff_format
    from thumbnailer.imaging import target_size, to_resizable_mode

    image = Image.open(BytesIO(data), formats=[load_decoder(sniff_format(data[:64]) or "")])
    icc_profile = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    image = to_srgb(to_resizable_mode(image), icc_profile)
    return image.resize(target_size(image.size, 512), Image.Resampling.LANCZOS)


def quality_figures(data: bytes, out_dir: Path) -> dict[str, float]:
    """PSNR (dB) of each engine's final 512w, and of our resize alone, vs the reference."""
    from PIL import Image

    from scripts.support.quality import psnr
    from thumbnailer.imaging import render

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


#: What Lambda sets in an execution environment. The X-Ray SDK (under Powertools' Tracer) picks
#: its sampler from these: outside Lambda it builds an X-Ray API client at import, in Lambda not.
LAMBDA_ENV = {
    "LAMBDA_TASK_ROOT": str(REPO / "lambda"),
    "AWS_LAMBDA_FUNCTION_NAME": "ThumbnailFunction",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_REGION": "us-east-1",
}
#: `make bench` installs the function's runtime packages alone here (lambda/requirements.txt and
#: the boto3 the runtime provides), as in the deployed package: the dev venv holds more (the SAM
#: CLI's awscrt and pyOpenSSL, which botocore imports when present).
FUNCTION_PYTHON = REPO / ".venv-function" / "bin" / "python"


def import_times(runs: int = 7) -> dict[str, float]:
    """Median and best wall time of `import app` (and of the image core alone), each in a
    fresh interpreter as Lambda starts one: the function's packages only, Lambda's environment;
    interpreter start-up excluded."""
    python = FUNCTION_PYTHON if FUNCTION_PYTHON.exists() else Path(sys.executable)
    env = {**HANDLER_ENV, **LAMBDA_ENV, "PATH": os.environ.get("PATH", "")}
    figures = {"python": str(python.relative_to(REPO) if python.is_relative_to(REPO) else python)}
    for module in ("app", "thumbnailer.imaging"):
        code = (
            f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        )
        times = [
            1000
            * float(
                subprocess.run(
                    [str(python), "-c", code],
                    cwd=REPO / "lambda",
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(runs)
        ]
        figures[f"{module} median"] = statistics.median(times)
        figures[f"{module} best"] = min(times)
    return figures


def webp_methods(still: Case, animated: Case) -> list[tuple[int, float, int, float, float, int]]:
    """Per libwebp method 0..6: ms and bytes of a 512w + 128w pair of a still, its 512w PSNR,
    and ms and bytes of the same pair of an animation."""
    from PIL import Image

    from scripts.support.quality import psnr
    from thumbnailer.imaging import encode_webp, render

    still_data = still.path.read_bytes()
    still_frames = render(still_data, WIDTHS, max_pixels=10**10).frames
    reference = reference_512(still_data)
    animation = render(animated.path.read_bytes(), WIDTHS, max_pixels=10**10)

    def timed(frames, timing, method: int, runs: int) -> tuple[float, list[bytes]]:
        best, encoded = float("inf"), []
        for _ in range(runs):
            started = time.perf_counter()
            encoded = [
                encode_webp(frames[w], quality=QUALITY, method=method, timing=timing)
                for w in WIDTHS
            ]
            best = min(best, (time.perf_counter() - started) * 1000)
        return best, encoded

    rows = []
    for method in range(7):
        still_ms, encoded = timed(still_frames, None, method, 7)
        quality = psnr(Image.open(BytesIO(encoded[0])), reference)
        animation_ms, animated_encoded = timed(animation.frames, animation.timing, method, 1)
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


def shrink_margins(cases: Sequence[Path]) -> list[tuple[str, float, float, float]]:
    """(image, margin, render ms, resize PSNR) for JPEG shrink-on-load margins 1 and 2."""
    import thumbnailer.imaging as imaging
    from scripts.support.quality import psnr

    rows = []
    chosen = imaging.SHRINK_ON_LOAD_MARGIN
    try:
        for path in cases:
            data = path.read_bytes()
            reference = reference_512(data)
            for margin in (1, 2):
                imaging.SHRINK_ON_LOAD_MARGIN = margin
                best = float("inf")
                for _ in range(5):
                    started = time.perf_counter()
                    made = imaging.render(data, WIDTHS, max_pixels=10**10)
                    best = min(best, (time.perf_counter() - started) * 1000)
                rows.append((path.name, margin, best, psnr(made.frames[512][0], reference)))
    finally:
        imaging.SHRINK_ON_LOAD_MARGIN = chosen
    return rows


# --- the report ------------------------------------------------------------------------------


@dataclass
class Row:
    case: Case
    megapixels: float
    results: dict[str, dict] = field(default_factory=dict)
    psnr: dict[str, float] = field(default_factory=dict)

    def speedup(self, engine: str) -> float | None:
        mine, theirs = self.results.get(engine, {}), self.results.get("baseline", {})
        if "ms" in mine and "ms" in theirs:
            return theirs["ms"] / mine["ms"]
        return None


def run_case(case: Case, *, with_handler: bool = False) -> Row:
    from PIL import Image

    from thumbnailer.formats import load_decoder, sniff_format

    data = case.path.read_bytes()
    try:
        with Image.open(BytesIO(data), formats=[load_decoder(sniff_format(data[:64]) or "")]) as im:
            megapixels = im.size[0] * im.size[1] / 1e6
    except Exception:  # noqa: BLE001 - not an image we read: the engines will say why
        megapixels = 0.0
    row = Row(case, megapixels)
    engines = (*ENGINES, "handler") if with_handler else ENGINES
    with tempfile.TemporaryDirectory() as out:
        for engine in engines:
            print(f"  {case.name}: {engine}", file=sys.stderr, flush=True)
            row.results[engine] = measure(engine, case, Path(out))
        row.psnr = quality_figures(data, Path(out))
    return row


def render_table(rows: Sequence[Row]) -> str:
    lines = [
        "| Image | Engine | Best ms | MP/s | Peak RSS (MB) | Bytes out | PSNR 512w (dB) | Speed-up"
        " |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        for engine, result in row.results.items():
            label = f"{row.case.name} ({row.megapixels:.1f} MP)" if engine == "ours" else ""
            if engine == "ours" and row.case.animated:
                label += ", animated out (the others: a still)"
            if "error" in result:
                lines.append(f"| {label} | {engine} | {result['error']} | | | | | |")
                continue
            rate = row.megapixels / (result["ms"] / 1000) if row.megapixels else 0
            quality = row.psnr.get(engine)
            if engine == "ours" and "resize" in row.psnr:
                quality_text = f"{quality:.2f} (resize {row.psnr['resize']:.1f})"
            else:
                quality_text = f"{quality:.2f}" if quality else "n/a"
            speedup = (
                row.speedup(engine) if engine != "baseline" and not row.case.animated else None
            )
            lines.append(
                f"| {label} | {engine} | {result['ms']:.0f} | {rate:.0f} | "
                f"{result['peak_mb']:.0f} | {result['bytes']:,} | {quality_text} | "
                + (f"{speedup:.1f}x" if speedup else "")
                + " |"
            )
    return "\n".join(lines)


def check_targets(rows: Sequence[Row], imports: dict[str, float]) -> list[tuple[bool, str]]:
    checks = []
    for row in rows:
        ours_result = row.results.get("ours", {})
        if row.case.photo_jpeg and row.megapixels >= 6:
            speedup = row.speedup("ours") or 0
            goal = 6 if row.megapixels >= 24 else 4
            checks.append((speedup >= goal, f"{row.case.name}: {speedup:.1f}x >= {goal}x"))
        if "resize" in row.psnr and row.case.photo_jpeg:
            checks.append(
                (
                    row.psnr["resize"] >= 40,
                    f"{row.case.name}: resize {row.psnr['resize']:.1f} dB >= 40",
                )
            )
        if "ours" in row.psnr and "baseline" in row.psnr:
            mine, theirs = row.psnr["ours"], row.psnr["baseline"]
            checks.append(
                (
                    mine >= theirs - 1.5,
                    f"{row.case.name}: 512w {mine:.2f} dB >= baseline's {theirs:.2f} - 1.5",
                )
            )
        if row.case.name == "JPEG 24 MP" and "peak_mb" in ours_result:
            peak = ours_result["peak_mb"]
            checks.append((peak < 200, f"{row.case.name}: peak RSS {peak:.0f} MB < 200"))
        if row.case.name == "JPEG 100 MP" and "peak_mb" in ours_result:
            peak = ours_result["peak_mb"]
            checks.append((peak < 512, f"{row.case.name}: peak RSS {peak:.0f} MB < 512"))
    median = imports["app median"]
    checks.append((median < 300, f"import app: {median:.0f} ms (median of 7) < 300"))
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="*", type=Path, help="more images to measure")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--no-corpus", action="store_true", help="only the directories given")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], args.worker[1], args.repeats, args.out)
        return 0

    sys.path.insert(0, str(REPO / "lambda"))
    from PIL import Image

    from scripts.bench import renditions as bench_renditions
    from thumbnailer.settings import DEFAULT_AVIF_QUALITY

    # The reference decodes the 100 MP JPEG in full, on purpose.
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    started = time.perf_counter()
    cases = [] if args.no_corpus else corpus()
    for directory in args.directories:
        cases += directory_cases(directory)
    rows = [run_case(case, with_handler=case.name == "JPEG 12 MP") for case in cases]
    imports = import_times()
    named = {case.name: case for case in corpus()}
    methods = webp_methods(named["JPEG 12 MP"], named["GIF 100 frames"])
    margins = shrink_margins([named["JPEG 6 MP"].path, named["JPEG 24 MP"].path, zone_plate_jpeg()])

    print(f"\n{render_table(rows)}\n")
    print(
        "Speed-up is the baseline's time over the engine's. PSNR: the final 512w WebP vs an exact"
    )
    print("Lanczos of the fully decoded source; 'resize' is our resize alone, before encoding.\n")
    print("| WebP method | Still: ms | bytes | PSNR 512w (dB) | Animation: ms | bytes |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for method, ms, size, quality, animation_ms, animation_size in methods:
        print(
            f"| {method} | {ms:.1f} | {size:,} | {quality:.2f} | {animation_ms:.0f} | "
            f"{animation_size:,} |"
        )
    print("(each a 512w + 128w pair: the 12 MP JPEG's, and the 100-frame GIF's)\n")
    print("| JPEG | Shrink-on-load to | Render ms (decode + resize) | Resize PSNR 512w (dB) |")
    print("| --- | --- | ---: | ---: |")
    for name, margin, ms, quality in margins:
        print(f"| {name} | >= {margin}x the thumbnail | {ms:.1f} | {quality:.1f} |")
    print(
        f"\nimport app ({imports['python']}, Lambda's environment): "
        f"median {imports['app median']:.0f} ms, best {imports['app best']:.0f} ms; "
        f"the image core alone (thumbnailer.imaging): median "
        f"{imports['thumbnailer.imaging median']:.0f} ms"
    )
    for row in rows:
        ours_result = row.results.get("ours", {})
        if row.case.name == "JPEG 12 MP" and "first_ms" in ours_result:
            print(
                f"first call in a fresh process ({row.case.name}): "
                f"{ours_result['first_ms']:.0f} ms, then {ours_result['ms']:.0f} ms"
            )
    photos = [(c.name, c.path.read_bytes()) for c in corpus() if c.photo_jpeg or c.name in (
        "PNG 12 MP alpha", "HEIC 12 MP")]  # fmt: skip
    renditions_table, renditions = bench_renditions.report(
        photos, named["GIF 100 frames"].path.read_bytes()
    )
    print(f"\n{renditions_table}\n")
    checks = check_targets(rows, imports)
    checks.append(
        (
            renditions["comparison"]["chosen"] == int(DEFAULT_AVIF_QUALITY),
            f"AVIF_QUALITY's default ({DEFAULT_AVIF_QUALITY}) is the lowest that matches WebP's "
            f"SSIM (measured: {renditions['comparison']['chosen']})",
        )
    )
    default_ms = {name: ms for name, ms, _ in renditions["configurations"]}
    checks.append(
        (
            default_ms["default (WebP 128w, 512w)"]
            <= 1.1 * default_ms["before renditions (make_thumbnails)"],
            "the default renditions cost no more than the thumbnails before them (10% noise)",
        )
    )
    for passed, text in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    elapsed = time.perf_counter() - started
    print(f"\n{sum(p for p, _ in checks)}/{len(checks)} targets met in {elapsed:.0f} s")
    results = REPO / ".bench" / "results.json"
    results.write_text(
        json.dumps(
            {
                "rows": [
                    {
                        "image": r.case.name,
                        "megapixels": r.megapixels,
                        "results": r.results,
                        "psnr": r.psnr,
                    }
                    for r in rows
                ],
                "imports_ms": imports,
                "webp_methods": methods,
                "shrink_margins": margins,
                "renditions": renditions,
            },
            indent=2,
        )
    )
    return 1 if args.check and not all(p for p, _ in checks) else 0


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: the image core against the usual tutorial code (and libvips), on a generated
corpus and on any directory you name. Not a test: it prints figures and checks the targets.

    python -m scripts.bench.bench                 # the generated corpus (cached in .bench/)
    python -m scripts.bench.bench ~/Pictures      # ... and every file in a directory of your own

Every measurement runs in a fresh process, so peak memory (VmHWM) is that case's own. Each
process decodes the image once untimed (plugins load, caches warm up, as in a warm Lambda),
then the best of its timed runs is reported: on a shared machine the fastest run is the one
least disturbed by other work (the median is kept in .bench/results.json). Ratios are taken in
CPU time, which other work on the machine disturbs far less than wall time. libvips runs with
VIPS_CONCURRENCY=1 because Lambda below 1769 MB has a single vCPU; Pillow is single-threaded
too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
from typing import Any

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


def imaging_variants(
    setting: str, values: Sequence[float], cases: Sequence[Path]
) -> list[tuple[str, float, float, float]]:
    """(image, value, render CPU ms, resize PSNR) for each value of one of the image core's
    settings (SHRINK_ON_LOAD_MARGIN, REDUCING_GAP), the chosen value restored after."""
    import thumbnailer.imaging as imaging
    from scripts.support.quality import psnr

    rows = []
    chosen = getattr(imaging, setting)
    try:
        for path in cases:
            data = path.read_bytes()
            reference = reference_512(data)
            for value in values:
                setattr(imaging, setting, value)
                best = float("inf")
                for _ in range(5):
                    started = time.process_time()
                    made = imaging.render(data, WIDTHS, max_pixels=10**10)
                    best = min(best, (time.process_time() - started) * 1000)
                rows.append((path.name, value, best, psnr(made.frames[512][0], reference)))
    finally:
        setattr(imaging, setting, chosen)
    return rows


# --- the floor, the handlers, animation, the built package, cost (issue 13) ------------------


def build_function_tree(target: Path, *, bytecode_python: str) -> Path:
    """lambda/Makefile's build of the function, for this machine's interpreter instead of
    Lambda's (same requirements, same pruning, same bytecode step): the real artifact holds
    aarch64 CPython 3.13 libraries, which this interpreter cannot import. `bytecode_python`
    compiles the .pyc files (empty: none, as a build machine without CPython 3.13 ships)."""
    shutil.rmtree(target, ignore_errors=True)
    python = FUNCTION_PYTHON if FUNCTION_PYTHON.exists() else Path(sys.executable)
    subprocess.run(
        [
            "make",
            "--silent",
            "-f",
            str(REPO / "lambda" / "Makefile"),
            "build-ThumbnailFunction",
            f"ARTIFACTS_DIR={target}",
            f"PYTHON={python}",
            "PIP_TARGET_FLAGS=",
            f"PYTHON_FOR_BYTECODE={bytecode_python}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


def build_ships_bytecode() -> str | None:
    """The Python version `sam build` compiles the package's bytecode with here, or None."""
    result = subprocess.run(
        [
            "make",
            "--silent",
            "-f",
            str(REPO / "lambda" / "Makefile"),
            "--eval",
            "print-bytecode-python: ; @echo $(PYTHON_FOR_BYTECODE)",
            "print-bytecode-python",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    python = result.stdout.strip()
    if not python:
        return None
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return version.stdout.strip() or None


def built_package_imports(runs: int = 7) -> dict[str, Any]:
    """`import app` (and the image core alone) from the package as lambda/Makefile builds it,
    with and without the bytecode the build ships when it has a CPython 3.13: each in a fresh
    interpreter (start-up excluded), with Lambda's environment, the runtime's boto3
    precompiled (in .venv-function) and no bytecode written (Lambda's /var/task is read-only).
    Wall and CPU time: on a shared machine the CPU time is the figure load disturbs least."""
    python = FUNCTION_PYTHON if FUNCTION_PYTHON.exists() else Path(sys.executable)
    figures: dict[str, Any] = {"bytecode_by": build_ships_bytecode()}
    for label, bytecode_python in (("with bytecode", str(python)), ("no bytecode", "")):
        tree = REPO / ".bench" / f"function-{label.split()[0]}"
        build_function_tree(tree, bytecode_python=bytecode_python)
        env = {
            **HANDLER_ENV,
            **LAMBDA_ENV,
            "LAMBDA_TASK_ROOT": str(tree),
            "PYTHONPATH": str(tree),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": os.environ.get("PATH", ""),
        }
        for module in ("app", "thumbnailer.imaging"):
            code = (
                "import time; t, c = time.perf_counter(), time.process_time(); "
                f"import {module}; "
                "print(time.perf_counter() - t, time.process_time() - c)"
            )
            runs_ms = [
                [
                    1000 * float(value)
                    for value in subprocess.run(
                        [str(python), "-c", code],
                        cwd=tree,
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout.split()
                ]
                for _ in range(runs)
            ]
            figures[f"{module}, {label}"] = {
                "median": statistics.median(wall for wall, _cpu in runs_ms),
                "cpu median": statistics.median(cpu for _wall, cpu in runs_ms),
                "best": min(wall for wall, _cpu in runs_ms),
            }
    return figures


#: AWS Lambda on-demand prices, arm64, US East (N. Virginia), first pricing tier
#: (https://aws.amazon.com/lambda/pricing/, as published on 2026-06-18). S3 request charges
#: (one GET, one HEAD, two PUTs per upload) are not included.
PRICE_DATE = "2026-06-18"
ARM64_GB_SECOND_USD = 0.0000133334
REQUEST_USD = 0.20 / 1_000_000
#: Lambda gives a function one full vCPU at 1,769 MB, and a proportional share below.
FULL_VCPU_MB = 1769
COST_MEMORY_SIZES_MB = (512, 1024, 1769, 3008)
#: The corpus mix the cost table averages, each image equally likely.
COST_MIX = (
    "JPEG 2 MP",
    "JPEG 6 MP",
    "JPEG 12 MP",
    "JPEG 24 MP",
    "PNG 12 MP alpha",
    "HEIC 12 MP",
    "GIF 100 frames",
)


def lambda_duration_ms(cpu_ms: float, io_ms: float, memory_mb: int) -> float:
    """Billed duration at `memory_mb`: the core is single-threaded, so its CPU time stretches
    by 1769 / memory below one vCPU and gains nothing above; waiting on S3 does not scale."""
    return cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb) + io_ms


def cost_per_million_usd(duration_ms: float, memory_mb: int) -> float:
    gb_seconds = memory_mb / 1024 * duration_ms / 1000
    return 1_000_000 * (gb_seconds * ARM64_GB_SECOND_USD + REQUEST_USD)


def cost_table(rows: Sequence[Row]) -> list[tuple[int, float, float]]:
    """(memory MB, mean billed ms, USD per million uploads) over the corpus mix, from our
    measured CPU time per image and the handler's measured time around the core."""
    cpu = [
        r.results["ours"]["cpu_ms"]
        for r in rows
        if r.case.name in COST_MIX and "cpu_ms" in r.results.get("ours", {})
    ]
    if not cpu:
        return []
    io = [
        r.results["handler"]["cpu_ms"] - r.results["ours"]["cpu_ms"]
        for r in rows
        if "cpu_ms" in r.results.get("handler", {}) and "cpu_ms" in r.results.get("ours", {})
    ]
    io_ms = statistics.mean(io) if io else 0.0
    table = []
    for memory in COST_MEMORY_SIZES_MB:
        durations = [lambda_duration_ms(c, io_ms, memory) for c in cpu]
        mean = statistics.mean(durations)
        table.append(
            (memory, mean, statistics.mean(cost_per_million_usd(d, memory) for d in durations))
        )
    return table


#: The extra engines' rows are printed in their own tables, not in the main one.
SIDE_ENGINES = ("floor", "tutorial-handler", "libvips-animated")
HANDLER_CASES = ("JPEG 6 MP", "JPEG 12 MP", "JPEG 24 MP")


def extra_engines(case: Case, *, with_handler: bool) -> tuple[str, ...]:
    engines: tuple[str, ...] = ("floor",) if case.photo_jpeg else ()
    if with_handler:
        engines += ("handler", "tutorial-handler")
    if case.animated:
        engines += ("libvips-animated",)
    return engines


def _ratio(row: Row, slower: str, faster: str) -> float | None:
    """`slower`'s time over `faster`'s, in CPU time: on a machine others share, waiting for a
    core inflates wall times (a 24 MP run measured slower than the 100 MP one), CPU time hardly.
    The work is single-threaded, so on an idle machine the two agree."""
    a, b = row.results.get(slower, {}), row.results.get(faster, {})
    return a["cpu_ms"] / b["cpu_ms"] if "cpu_ms" in a and "cpu_ms" in b else None


def _ratio_table(rows: Sequence[Row], header: str, slower: str, faster: str) -> list[str]:
    """One line per row measured by both engines: their CPU ms and the ratio."""
    mine, theirs = (slower, faster) if slower == "ours" else (faster, slower)
    lines = [header, "| --- | ---: | ---: | ---: |"]
    for row in rows:
        ratio = _ratio(row, slower, faster)
        if ratio:
            lines.append(
                f"| {row.case.name} | {row.results[mine]['cpu_ms']:.0f} | "
                f"{row.results[theirs]['cpu_ms']:.0f} | {ratio:.2f}x |"
            )
    return lines


def side_tables(rows: Sequence[Row], built_imports: dict[str, Any]) -> str:
    lines = _ratio_table(
        rows,
        "| JPEG | ours CPU ms | floor CPU ms (decode + 2 encodes) | ours / floor |",
        "ours",
        "floor",
    )
    lines.append("")
    lines += _ratio_table(
        rows,
        "| JPEG | handler CPU ms | tutorial handler CPU ms | speed-up |",
        "tutorial-handler",
        "handler",
    )
    lines += [
        "",
        "| Animation | engine | CPU ms | wall ms | bytes |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        for engine in ("ours", "libvips-animated"):
            result = row.results.get(engine, {})
            if row.case.animated and "cpu_ms" in result:
                lines.append(
                    f"| {row.case.name} | {engine} | {result['cpu_ms']:.0f} | {result['ms']:.0f} | "
                    f"{result['bytes']:,} |"
                )
    lines += [
        "",
        "Import, the package as lambda/Makefile builds it (the build's bytecode here: "
        f"Python {built_imports['bytecode_by'] or 'none'}), median of 7 fresh interpreters:",
        "",
        "| Module | Bytecode | Wall ms (best) | CPU ms |",
        "| --- | --- | ---: | ---: |",
    ]
    for module in ("app", "thumbnailer.imaging"):
        for label in ("with bytecode", "no bytecode"):
            figures = built_imports[f"{module}, {label}"]
            lines.append(
                f"| `import {module}` | {label.split()[0]} | {figures['median']:.0f} "
                f"({figures['best']:.0f}) | {figures['cpu median']:.0f} |"
            )
    table = cost_table(rows)
    if table:
        lines += [
            "",
            f"| Memory (MB) | ms per upload (mix) | USD per 1M uploads (arm64, {PRICE_DATE}) |",
            "| ---: | ---: | ---: |",
        ]
        lines += [f"| {memory:,} | {ms:.0f} | {usd:.2f} |" for memory, ms, usd in table]
    return "\n".join(lines)


def issue_13_targets(rows: Sequence[Row], built_imports: dict[str, Any]) -> list[tuple[bool, str]]:
    checks = []
    for row in rows:
        floor = _ratio(row, "ours", "floor")
        if floor and row.case.photo_jpeg:
            checks.append((floor <= 1.3, f"{row.case.name}: {floor:.2f}x the floor <= 1.3x"))
        handler = _ratio(row, "tutorial-handler", "handler")
        if handler:
            goal = 8 if row.megapixels >= 24 else 5
            checks.append(
                (
                    handler >= goal,
                    f"{row.case.name}: handler {handler:.2f}x the tutorial handler >= {goal}x",
                )
            )
        ours, vips = row.results.get("ours", {}), row.results.get("libvips-animated", {})
        if "cpu_ms" in ours and "cpu_ms" in vips:
            checks.append(
                (
                    ours["cpu_ms"] <= vips["cpu_ms"],
                    f"{row.case.name}: {ours['cpu_ms']:.0f} ms CPU <= libvips' "
                    f"{vips['cpu_ms']:.0f}",
                )
            )
            checks.append(
                (
                    ours["bytes"] <= vips["bytes"],
                    f"{row.case.name}: {ours['bytes']:,} bytes <= libvips' {vips['bytes']:,}",
                )
            )
    cpu = built_imports["app, with bytecode"]["cpu median"]
    checks.append((cpu < 250, f"import app (built package, bytecode): {cpu:.0f} ms CPU < 250"))
    return checks


# --- the report ------------------------------------------------------------------------------


@dataclass
class Row:
    case: Case
    megapixels: float
    results: dict[str, dict] = field(default_factory=dict)
    psnr: dict[str, float] = field(default_factory=dict)

    def speedup(self, engine: str) -> float | None:
        return _ratio(self, "baseline", engine)


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
    engines = (*ENGINES, *extra_engines(case, with_handler=with_handler))
    with tempfile.TemporaryDirectory() as out:
        for engine in engines:
            print(f"  {case.name}: {engine}", file=sys.stderr, flush=True)
            row.results[engine] = measure(engine, case, Path(out))
        row.psnr = quality_figures(data, Path(out))
    return row


def render_table(rows: Sequence[Row]) -> str:
    lines = [
        "| Image | Engine | Best ms | CPU ms | MP/s | Peak RSS (MB) | Bytes out | PSNR 512w (dB) "
        "| Speed-up |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        for engine, result in row.results.items():
            if engine in SIDE_ENGINES:
                continue
            label = f"{row.case.name} ({row.megapixels:.1f} MP)" if engine == "ours" else ""
            if engine == "ours" and row.case.animated:
                label += ", animated out (the others: a still)"
            if "error" in result:
                lines.append(f"| {label} | {engine} | {result['error']} | | | | | | |")
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
                f"| {label} | {engine} | {result['ms']:.0f} | {result['cpu_ms']:.0f} | "
                f"{rate:.0f} | "
                f"{result['peak_mb']:.0f} | {result['bytes']:,} | {quality_text} | "
                + (f"{speedup:.1f}x" if speedup else "")
                + " |"
            )
    return "\n".join(lines)


def check_targets(rows: Sequence[Row]) -> list[tuple[bool, str]]:
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
                    mine >= theirs - 0.5,
                    f"{row.case.name}: 512w {mine:.2f} dB >= baseline's {theirs:.2f} - 0.5",
                )
            )
        if row.case.name == "JPEG 24 MP" and "peak_mb" in ours_result:
            peak = ours_result["peak_mb"]
            checks.append((peak < 200, f"{row.case.name}: peak RSS {peak:.0f} MB < 200"))
        if row.case.name == "JPEG 100 MP" and "peak_mb" in ours_result:
            peak = ours_result["peak_mb"]
            checks.append((peak < 512, f"{row.case.name}: peak RSS {peak:.0f} MB < 512"))
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
    rows = [run_case(case, with_handler=case.name in HANDLER_CASES) for case in cases]
    built_imports = built_package_imports()
    named = {case.name: case for case in corpus()}
    methods = webp_methods(named["JPEG 12 MP"], named["GIF 100 frames"])
    charts = [named["JPEG 6 MP"].path, named["JPEG 24 MP"].path, zone_plate_jpeg()]
    margins = imaging_variants("SHRINK_ON_LOAD_MARGIN", (1, 2), charts)
    gaps = imaging_variants("REDUCING_GAP", (2.0, 1.0), [named["JPEG 2 MP"].path, *charts])

    print(f"\n{render_table(rows)}\n")
    print("Speed-up is the baseline's CPU time over the engine's. PSNR: the final 512w WebP vs an")
    print(
        "exact Lanczos of the fully decoded source; 'resize': our resize alone, before encoding.\n"
    )
    print("| WebP method | Still: ms | bytes | PSNR 512w (dB) | Animation: ms | bytes |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for method, ms, size, quality, animation_ms, animation_size in methods:
        print(
            f"| {method} | {ms:.1f} | {size:,} | {quality:.2f} | {animation_ms:.0f} | "
            f"{animation_size:,} |"
        )
    print("(each a 512w + 128w pair: the 12 MP JPEG's, and the 100-frame GIF's)\n")
    print("| JPEG | Shrink-on-load to | Render CPU ms (decode + resize) | Resize PSNR 512w (dB) |")
    print("| --- | --- | ---: | ---: |")
    for name, margin, ms, quality in margins:
        print(f"| {name} | >= {margin}x the thumbnail | {ms:.1f} | {quality:.1f} |")
    print("\n| JPEG | Reduce (box) while Lanczos keeps | Render CPU ms | Resize PSNR 512w (dB) |")
    print("| --- | --- | ---: | ---: |")
    for name, gap, ms, quality in gaps:
        print(f"| {name} | >= {gap}x (reducing_gap={gap}) | {ms:.1f} | {quality:.1f} |")
    for row in rows:
        ours_result = row.results.get("ours", {})
        if row.case.name == "JPEG 12 MP" and "first_ms" in ours_result:
            print(
                f"\nfirst call in a fresh process ({row.case.name}): "
                f"{ours_result['first_ms']:.0f} ms, then {ours_result['ms']:.0f} ms"
            )
    print(f"\n{side_tables(rows, built_imports)}\n")
    photos = [(c.name, c.path.read_bytes()) for c in corpus() if c.photo_jpeg or c.name in (
        "PNG 12 MP alpha", "HEIC 12 MP")]  # fmt: skip
    renditions_table, renditions = bench_renditions.report(
        photos, named["GIF 100 frames"].path.read_bytes()
    )
    print(f"\n{renditions_table}\n")
    checks = check_targets(rows) + issue_13_targets(rows, built_imports)
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
                "built_package_imports_ms": built_imports,
                "cost": cost_table(rows),
                "webp_methods": methods,
                "shrink_margins": margins,
                "reducing_gaps": gaps,
                "renditions": renditions,
            },
            indent=2,
        )
    )
    return 1 if args.check and not all(p for p, _ in checks) else 0


if __name__ == "__main__":
    sys.exit(main())

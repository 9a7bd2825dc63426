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
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from scripts.bench.cold_start import built_package_imports
from scripts.bench.cost import PRICE_DATE, cost_table
from scripts.bench.engines import (
    ENGINES,
    REPO,
    Case,
    corpus,
    directory_cases,
    measure,
    worker,
)
from scripts.bench.fidelity import imaging_variants, quality_figures, webp_methods, zone_plate_jpeg

# --- the floor, the handlers, animation, the built package, cost ------------------------------


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
    for module in ("app", "thumbnailer.image.renditions"):
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


def side_targets(rows: Sequence[Row], built_imports: dict[str, Any]) -> list[tuple[bool, str]]:
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

    from thumbnailer.image.formats import load_decoder, sniff_format

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

    from scripts.bench import deadline as bench_deadline
    from scripts.bench import renditions as bench_renditions
    from thumbnailer.image.encoders import DEFAULT_AVIF_QUALITY

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
    margins = imaging_variants("decode.SHRINK_ON_LOAD_MARGIN", (1, 2), charts)
    gaps = imaging_variants("resize.REDUCING_GAP", (2.0, 1.0), [named["JPEG 2 MP"].path, *charts])

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
    from scripts.bench import autoquality

    auto_quality_table, auto_quality = autoquality.report()
    print(f"\n{auto_quality_table}\n")
    checks = check_targets(rows) + side_targets(rows, built_imports)
    checks += autoquality.targets(auto_quality)
    deadline_table, deadline_checks = bench_deadline.report(corpus())
    print(f"\n{deadline_table}\n")
    checks += deadline_checks
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
            <= 1.1 * default_ms["before renditions (one WebP per width)"],
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
                "auto_quality": auto_quality,
            },
            indent=2,
        )
    )
    return 1 if args.check and not all(p for p, _ in checks) else 0


if __name__ == "__main__":
    sys.exit(main())

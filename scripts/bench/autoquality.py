"""`make bench`, AUTO_QUALITY: on real photos, the quality each 512w rendition gets, its bytes
and its reference SSIMULACRA2 (the `ssimulacra2` package) against fixed quality; the in-function
metric's rank correlation with the reference; the handler's CPU time with it on and off; and
what numpy costs the package and the import.

The photos come from packages, at bench time, and are not committed: scikit-image's bundled
photos (in its wheel; none fetched) and Debian's libjxl-testdata (installed by `make bench` as
root; without it, that part of the corpus is skipped, and said so).

    python -m scripts.bench.autoquality
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from io import BytesIO
from pathlib import Path

from scripts.bench.engines import CACHE, REPO, Case, measure

LIBJXL = Path("/usr/share/libjxl-testdata")
LIBJXL_PHOTOS = ("jxl/flower/flower.png", "external/raw.pixls/Nikon-D300-12bit_srgb8_dt.png")
SKIMAGE_PHOTOS = ("astronaut.png", "coffee.png", "motorcycle_left.png", "retina.jpg", "camera.png")
SKIMAGE_PHOTOS += ("hubble_deep_field.jpg", "brick.png", "grass.png")
FIXED = {"webp": 85, "avif": 70}
TARGET = 75
WIDTH = 512


def photos() -> dict[str, bytes]:
    """The real photos at least WIDTH wide, by name."""
    import skimage

    found = {}
    bundled = Path(skimage.__file__).parent / "data"
    paths = [bundled / name for name in SKIMAGE_PHOTOS]
    if LIBJXL.is_dir():
        paths += [LIBJXL / name for name in LIBJXL_PHOTOS]
    else:
        print("  libjxl-testdata is not installed (make bench installs it as root): skipped")
    from PIL import Image

    for path in paths:
        if path.is_file() and Image.open(path).width >= WIDTH:
            found[path.name] = path.read_bytes()
    return found


def _reference_score(picture, data: bytes, scratch: Path) -> float:
    from PIL import Image
    from ssimulacra2 import compute_ssimulacra2

    picture.convert("RGB").save(scratch / "a.png")
    Image.open(BytesIO(data)).convert("RGB").save(scratch / "b.png")
    return compute_ssimulacra2(str(scratch / "a.png"), str(scratch / "b.png"))


def quality_table(corpus: dict[str, bytes], fmt: str, scratch: Path) -> list[dict]:
    """Per photo: the 512w (and 128w) with AUTO_QUALITY at TARGET and at the fixed quality."""
    from thumbnailer.image.render import render
    from thumbnailer.image.renditions import make_renditions

    rows = []
    for name, data in corpus.items():
        exact = render(data, (WIDTH,), max_pixels=10**9).frames[WIDTH][0]
        made = {}
        for auto in (True, False):
            renditions = make_renditions(
                data, (128, WIDTH), quality=FIXED["webp"], avif_quality=FIXED["avif"],
                max_pixels=10**9, formats=(fmt,), auto_quality=auto, quality_target=TARGET,
            ).renditions  # fmt: skip
            made[auto] = {r.name: r for r in renditions}
        auto, fixed = made[True][f"{WIDTH}w"], made[False][f"{WIDTH}w"]
        rows.append(
            {
                "image": name,
                "quality": auto.quality,
                "bytes": len(auto.data),
                "proxy": auto.score,
                "score": _reference_score(exact, auto.data, scratch),
                "fixed_bytes": len(fixed.data),
                "fixed_score": _reference_score(exact, fixed.data, scratch),
                "small_bytes": len(made[True]["128w"].data),
                "small_fixed_bytes": len(made[False]["128w"].data),
            }
        )
    return rows


def correlation(corpus: dict[str, bytes], scratch: Path) -> dict:
    """The proxy against the reference on every photo's 512w, WebP and AVIF, at 5 qualities."""
    from scipy.stats import spearmanr

    from thumbnailer.image.encoders import encode
    from thumbnailer.image.metric import Reference, decoded
    from thumbnailer.image.render import render

    pairs = []
    for data in corpus.values():
        exact = render(data, (WIDTH,), max_pixels=10**9).frames[WIDTH][0]
        reference = Reference(exact)
        for fmt in ("webp", "avif"):
            for quality in (40, 55, 70, 85, 95):
                encoded = encode([exact], fmt, quality=quality)
                pairs.append(
                    (reference.score(decoded(encoded)), _reference_score(exact, encoded, scratch))
                )
    rho = spearmanr([p for p, _ in pairs], [r for _, r in pairs]).statistic
    errors = [abs(p - r) for p, r in pairs]
    return {"pairs": len(pairs), "spearman": rho, "max_error": max(errors), "mean_error":
            statistics.fmean(errors)}  # fmt: skip


def cpu_ratios(photo: bytes) -> list[dict]:
    """The handler (moto S3) on a real photo enlarged to 6 and 24 MP, AUTO_QUALITY on and off."""
    from PIL import Image

    picture = Image.open(BytesIO(photo)).convert("RGB")
    rows = []
    for label, size in (("6 MP", (3000, 2000)), ("24 MP", (6000, 4000))):
        path = CACHE / f"flower-{size[0]}.jpg"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            picture.resize(size, Image.Resampling.LANCZOS).save(path, quality=90)
        for formats in ("webp", "webp,avif"):
            cpu = {}
            for auto in ("false", "true"):
                os.environ.update(AUTO_QUALITY=auto, OUTPUT_FORMATS=formats)
                with tempfile.TemporaryDirectory() as out:
                    result = measure("handler", Case(label, path, repeats=3), Path(out))
                cpu[auto] = result.get("cpu_ms", float("nan"))
            rows.append({"photo": label, "formats": formats, "off_ms": cpu["false"],
                         "on_ms": cpu["true"], "ratio": cpu["true"] / cpu["false"]})  # fmt: skip
    for name in ("AUTO_QUALITY", "OUTPUT_FORMATS"):
        os.environ.pop(name, None)
    return rows


def numpy_cost() -> dict:
    """numpy's wheel for the function (unzipped MB), and the import of the metric, CPU ms."""
    requirement = next(
        line for line in (REPO / "lambda" / "requirements.txt").read_text().splitlines()
        if line.startswith("numpy==")
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as target:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target,
             "--platform", "manylinux_2_28_aarch64", "--implementation", "cp", "--python-version",
             "3.13", "--only-binary=:all:", requirement],
            check=True,
        )  # fmt: skip
        size = sum(p.stat().st_size for p in Path(target).rglob("*") if p.is_file())
    code = (
        "import time; t = time.process_time(); import {}; print((time.process_time() - t) * 1000)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "lambda")}
    times = {}
    for module in ("numpy", "thumbnailer.image.metric"):
        runs = [
            float(subprocess.run([sys.executable, "-c", code.format(module)], env=env,
                                 capture_output=True, text=True, check=True).stdout)
            for _ in range(5)
        ]  # fmt: skip
        times[module] = statistics.median(runs)
    return {"unzipped_mb": size / 1e6, "import_ms": times}


def report() -> tuple[str, dict]:
    corpus = photos()
    with tempfile.TemporaryDirectory() as scratch:
        tables = {fmt: quality_table(corpus, fmt, Path(scratch)) for fmt in ("webp", "avif")}
        calibration = correlation(corpus, Path(scratch))
    flower = corpus.get("flower.png") or next(iter(corpus.values()))
    ratios = cpu_ratios(flower)
    cost = numpy_cost()
    lines = []
    for fmt, rows in tables.items():
        lines += [
            f"AUTO_QUALITY, {fmt.upper()} {WIDTH}w, target {TARGET}, against fixed q{FIXED[fmt]} "
            "(scores: the reference SSIMULACRA2 against the picture before encoding):",
            "",
            "| Photo | Quality | Bytes | Score (proxy) | Fixed bytes | Fixed score | Saved | "
            "128w bytes (fixed) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in rows:
            saved = 1 - row["bytes"] / row["fixed_bytes"]
            lines.append(
                f"| {row['image']} | {row['quality']} | {row['bytes']:,} | {row['score']:.1f} "
                f"({row['proxy']:.1f}) | {row['fixed_bytes']:,} | {row['fixed_score']:.1f} | "
                f"{saved:.0%} | {row['small_bytes']:,} ({row['small_fixed_bytes']:,}) |"
            )
        total = sum(r["bytes"] for r in rows) / sum(r["fixed_bytes"] for r in rows)
        small = sum(r["small_bytes"] for r in rows) / sum(r["small_fixed_bytes"] for r in rows)
        lines += [f"| all | | | | | | {1 - total:.0%} | {1 - small:.0%} saved |", ""]
    lines.append(
        f"Proxy against reference: Spearman {calibration['spearman']:.4f} over "
        f"{calibration['pairs']} encodings; error mean {calibration['mean_error']:.2f}, "
        f"max {calibration['max_error']:.2f}.\n"
    )
    lines += ["| Photo (flower, enlarged) | Formats | Handler CPU ms off | on | on / off |",
              "| --- | --- | ---: | ---: | ---: |"]  # fmt: skip
    lines += [f"| {r['photo']} | {r['formats']} | {r['off_ms']:.0f} | {r['on_ms']:.0f} | "
              f"{r['ratio']:.2f}x |" for r in ratios]  # fmt: skip
    lines.append(
        f"\nnumpy: {cost['unzipped_mb']:.0f} MB unzipped in the package; import CPU ms (median "
        f"of 5 fresh interpreters): numpy {cost['import_ms']['numpy']:.0f}, the metric "
        f"{cost['import_ms']['thumbnailer.image.metric']:.0f}"
    )
    figures = {"tables": tables, "correlation": calibration, "cpu": ratios, "numpy": cost}
    return "\n".join(lines), figures


def targets(figures: dict) -> list[tuple[bool, str]]:
    checks = []
    for fmt, rows in figures["tables"].items():
        saved = 1 - sum(r["bytes"] for r in rows) / sum(r["fixed_bytes"] for r in rows)
        worst = min(r["score"] for r in rows)
        checks.append((saved >= 0.15, f"AUTO_QUALITY {fmt} 512w: {saved:.0%} fewer bytes >= 15%"))
        checks.append((worst >= TARGET - 2, f"AUTO_QUALITY {fmt} 512w: worst {worst:.1f} >= 73"))
    for row in figures["cpu"]:
        if row["formats"] == "webp":
            checks.append((row["ratio"] <= 2, f"AUTO_QUALITY {row['photo']}: handler CPU "
                                              f"{row['ratio']:.2f}x off <= 2x"))  # fmt: skip
    return checks


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "lambda"))
    text, figures = report()
    print(text)
    for passed, label in targets(figures):
        print(f"{'PASS' if passed else 'FAIL'}  {label}")

"""What `make bench` measures, and how: the generated corpus (cached in .bench/), and each
engine (ours, the usual tutorial code, libvips, the floor; the whole handler and the tutorial
handler too) timed in a worker process
of its own, so that peak memory (VmHWM) is that case's own. `measure` runs one engine on one
case in such a process (`python -m scripts.bench.bench --worker ENGINE PATH`) and reads back
its figures.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".bench" / "corpus-v1"
WIDTHS = (512, 128)
QUALITY = 85
ENGINES = ("ours", "baseline", "libvips")
HANDLER_ENV = {
    "OUTPUT_BUCKET": "bench-out",
    "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-dlq",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "thumbnailer",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessImagePipeline",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


# --- the corpus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    photo_jpeg: bool = False
    repeats: int = 9
    animated: bool = False


def corpus() -> list[Case]:
    """The deterministic corpus, generated once into .bench/ (about a minute)."""
    from scripts.support import sample_images as samples

    CACHE.mkdir(parents=True, exist_ok=True)

    def cached(name: str, make: Callable[[], bytes]) -> Path:
        path = CACHE / name
        if not path.exists():
            print(f"  generating {name}", file=sys.stderr, flush=True)
            path.write_bytes(make())
        return path

    def photo_jpeg(width: int, height: int, seed: int) -> Callable[[], bytes]:
        return lambda: samples.encode(samples.photo(width, height, seed=seed), "JPEG", quality=90)

    def alpha_png() -> bytes:
        from PIL import Image

        picture = samples.photo(4000, 3000, seed=5).convert("RGBA")
        picture.putalpha(Image.radial_gradient("L").resize((4000, 3000)).point(lambda v: 255 - v))
        return samples.encode(picture, "PNG", compress_level=6)

    def gif() -> bytes:
        # A "video GIF": a camera pan over a photo, each frame with its own adaptive palette.
        from PIL import Image

        scene = samples.photo(1480, 270, seed=7)
        frames = [
            scene.crop((10 * i, 0, 10 * i + 480, 270)).convert("P", palette=Image.Palette.ADAPTIVE)
            for i in range(100)
        ]
        return samples.animation(frames, "GIF", durations=[40] * 100, loop=0)

    def huge_jpeg() -> bytes:
        from PIL import Image, ImageDraw

        picture = Image.new("RGB", (12000, 8400), (40, 90, 160))
        draw = ImageDraw.Draw(picture)
        for x in range(0, 12000, 1500):
            draw.rectangle((x, 0, x + 700, 8400), fill=(220, 200, 40))
        draw.ellipse((3000, 2000, 9000, 7000), fill=(200, 30, 40))
        return samples.encode(picture, "JPEG", quality=85)

    return [
        Case("JPEG 2 MP", cached("photo-2mp.jpg", photo_jpeg(1732, 1155, 1)), True),
        Case("JPEG 6 MP", cached("photo-6mp.jpg", photo_jpeg(3000, 2000, 2)), True),
        Case("JPEG 12 MP", cached("photo-12mp.jpg", photo_jpeg(4243, 2828, 3)), True),
        Case("JPEG 24 MP", cached("photo-24mp.jpg", photo_jpeg(6000, 4000, 4)), True, 5),
        Case("PNG 12 MP alpha", cached("alpha-12mp.png", alpha_png), repeats=5),
        Case(
            "HEIC 12 MP",
            cached("iphone-12mp.heic", lambda: samples.heic(samples.photo(4032, 3024, seed=6))),
            repeats=3,
        ),
        Case("GIF 100 frames", cached("pan-480x270.gif", gif), repeats=3, animated=True),
        Case("JPEG 100 MP", cached("flat-100mp.jpg", huge_jpeg), repeats=2),
    ]


def directory_cases(directory: Path) -> list[Case]:
    files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    return [Case(p.name, p, repeats=3) for p in files]


# --- the engines, each run in a worker process -------------------------------------------------


def ours(data: bytes) -> list[bytes]:
    """What the function runs with its default settings: WebP at each width."""
    from thumbnailer.image.budget import pixel_budget
    from thumbnailer.image.renditions import make_renditions

    made = make_renditions(data, WIDTHS, quality=QUALITY, max_pixels=pixel_budget(1024))
    by_name = {rendition.name: rendition.data for rendition in made.renditions}
    return [by_name[f"{width}w"] for width in WIDTHS]


def baseline(data: bytes) -> list[bytes]:
    """The tutorial code: open and fully decode once per size, orient, Lanczos from full
    resolution, WebP with default settings."""
    from PIL import Image, ImageOps

    if data[4:12] in (b"ftypheic", b"ftypmif1", b"ftypheix"):
        from pillow_heif import register_heif_opener

        register_heif_opener()
    outputs = []
    for width in WIDTHS:
        image = ImageOps.exif_transpose(Image.open(BytesIO(data)))
        height = max(1, round(image.height * width / image.width))
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
        buffer = BytesIO()
        resized.save(buffer, "WEBP")
        outputs.append(buffer.getvalue())
    return outputs


def libvips(data: bytes) -> list[bytes]:
    """libvips' thumbnail (what sharp and imgproxy use): shrink-on-load, then WebP."""
    import pyvips

    outputs = []
    for width in WIDTHS:
        thumb = pyvips.Image.thumbnail_buffer(data, width, height=100_000, size="down")
        outputs.append(thumb.webpsave_buffer(Q=QUALITY, keep="none"))
    return outputs


def moto_upload(data: bytes) -> tuple[Any, dict]:
    """In-process moto S3 holding `data` as an upload, and the S3 event that announces it."""
    import boto3
    from moto import mock_aws

    os.environ.update(HANDLER_ENV)
    mock = mock_aws()
    mock.start()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bench-in")
    s3.create_bucket(Bucket=HANDLER_ENV["OUTPUT_BUCKET"])
    boto3.client("sqs").create_queue(QueueName="bench-dlq")
    put = s3.put_object(Bucket="bench-in", Key="uploads/bench/photo.jpg", Body=data)
    event = json.loads((REPO / "events" / "s3-put.json").read_text())
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = "bench-in"
    # The handler reads the source with If-Match on the event's ETag: name this upload's.
    record["s3"]["object"].update(
        key="uploads/bench/photo.jpg", size=len(data), eTag=put["ETag"].strip('"')
    )
    return s3, event


def handler_runner(data: bytes) -> Callable[[], list[bytes]]:
    """The real handler in moto: S3 get, the core, S3 puts (the DLQ is never used here)."""
    s3, event = moto_upload(data)
    sys.path.insert(0, str(REPO / "lambda"))
    import app

    class Context:
        function_name = "ThumbnailFunction"
        memory_limit_in_mb = 1024
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
        aws_request_id = "bench"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 900_000  # a whole Lambda timeout: the handler's deadline never cuts in

    def run() -> list[bytes]:
        # Each run is a first delivery: without the largest thumbnail (which records what made
        # the set) the handler does the work instead of skipping a duplicate. ~1 ms in moto.
        s3.delete_object(
            Bucket=HANDLER_ENV["OUTPUT_BUCKET"], Key=f"bench/photo_{max(WIDTHS)}w.webp"
        )
        result = app.lambda_handler(event, Context())
        assert result["outcomes"][0]["status"] == "written", result
        return [
            s3.get_object(Bucket=HANDLER_ENV["OUTPUT_BUCKET"], Key=f"bench/photo_{w}w.webp")[
                "Body"
            ].read()
            for w in WIDTHS
        ]

    return run


def floor_runner(data: bytes) -> Callable[[], list[bytes]]:
    """What no JPEG thumbnailer can avoid: decoding at the DCT scale ours chooses, and the two
    WebP encodes of our thumbnails (made beforehand, untimed). `ours / floor` is the price of
    everything else, the resize above all."""
    from thumbnailer.image.decode import open_within_budget
    from thumbnailer.image.encoders import encode_webp
    from thumbnailer.image.render import render

    frames = render(data, WIDTHS, max_pixels=10**10).frames

    def run() -> list[bytes]:
        open_within_budget(data, WIDTHS, max_pixels=10**10, max_frames=1).image.load()
        return [encode_webp(frames[width], quality=QUALITY) for width in WIDTHS]

    return run


def tutorial_handler_runner(data: bytes) -> Callable[[], list[bytes]]:
    """The tutorial handler in the same moto: S3 get, the tutorial code, S3 puts."""
    s3, event = moto_upload(data)
    source = event["Records"][0]["s3"]

    def run() -> list[bytes]:
        body = s3.get_object(Bucket=source["bucket"]["name"], Key=source["object"]["key"])
        outputs = baseline(body["Body"].read())
        for width, output in zip(WIDTHS, outputs, strict=True):
            s3.put_object(
                Bucket=HANDLER_ENV["OUTPUT_BUCKET"], Key=f"bench/photo_{width}w.webp", Body=output
            )
        return outputs

    return run


def libvips_animated(data: bytes) -> list[bytes]:
    """libvips' animated thumbnail: every frame (`n=-1`), saved as an animated WebP."""
    import pyvips

    outputs = []
    for width in WIDTHS:
        thumb = pyvips.Image.thumbnail_buffer(
            data, width, height=100_000, size="down", option_string="n=-1"
        )
        outputs.append(thumb.webpsave_buffer(Q=QUALITY, keep="none"))
    return outputs


RUNNERS: dict[str, Callable[[bytes], Callable[[], list[bytes]]]] = {
    "handler": handler_runner,
    "tutorial-handler": tutorial_handler_runner,
    "floor": floor_runner,
}


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would include the parent's at fork)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(engine: str, path: str, repeats: int, out_dir: str) -> None:
    data = Path(path).read_bytes()
    try:
        if engine in RUNNERS:
            run = RUNNERS[engine](data)
        else:
            function = {
                "ours": ours,
                "baseline": baseline,
                "libvips": libvips,
                "libvips-animated": libvips_animated,
            }[engine]

            def run() -> list[bytes]:
                return function(data)

        started = time.perf_counter()
        outputs = run()  # warm-up: plugins and caches, as in a warm Lambda
        first_ms = (time.perf_counter() - started) * 1000
        times, cpu_times = [], []
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            outputs = run()
            times.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.process_time() - cpu_started) * 1000)
    except Exception as exc:  # noqa: BLE001 - reported in the table, the bench goes on
        # The last clause of the last line says why (libvips prefixes its call chain).
        message = str(exc).strip().splitlines()[-1].split(": ")[-1] if str(exc).strip() else ""
        print(json.dumps({"error": f"{type(exc).__name__}: {message}"[:100]}))
        return
    for width, output in zip(WIDTHS, outputs, strict=True):
        Path(out_dir, f"{engine}_{width}.webp").write_bytes(output)
    print(
        json.dumps(
            {
                "ms": min(times),
                "cpu_ms": min(cpu_times),
                "median_ms": statistics.median(times),
                "first_ms": first_ms,
                "runs_ms": [round(t, 1) for t in times],
                "peak_mb": peak_rss_mb(),
                "bytes": sum(len(o) for o in outputs),
            }
        )
    )


def measure(engine: str, case: Case, out_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'lambda'}{os.pathsep}{REPO}"}
    env["VIPS_CONCURRENCY"] = "1"
    command = [sys.executable, "-m", "scripts.bench.bench", "--worker", engine, str(case.path)]
    result = subprocess.run(
        [*command, "--repeats", str(case.repeats), "--out", str(out_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        return {"error": (result.stderr.strip().splitlines() or ["crashed"])[-1][:120]}
    return json.loads(lines[-1])

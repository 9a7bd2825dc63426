"""`make bench-tracing`: what each Tracing value costs a cold start, and what it adds in size.

    python -m scripts.bench.tracing [--runs N]

For each of xray, otel and off, in a fresh interpreter per run (N runs, medians):

- **init**: from the first line of the process's own code to the handler being ready: `import
  app` for xray and off; for otel first what the ADOT layer's wrapper does before Lambda imports
  the handler (the auto-instrumentation's `initialize()`, which sets up the SDK and its X-Ray
  exporter and instruments botocore, then the Lambda handler's instrumentation), then `import
  app`. Interpreter start-up is excluded; the layer's wrapper script starts one more
  interpreter, measured on its own (`opentelemetry-instrument` before `python -c pass`).
- **first invocation**: the handler on one S3 upload (a 2 MP JPEG), S3 and SQS in moto's server
  (so the function's process holds nothing but the function), with a sampled trace header as
  Lambda sets it; the spans go over UDP to a local sink standing where Lambda's X-Ray endpoint
  is (AWS_XRAY_DAEMON_ADDRESS), which counts what arrives. Then a second invocation (warm).

The function runs from the package as lambda/Makefile builds it for this machine (the same
requirements, pruning and bytecode; see cold_start.py); the layer from the same Python packages
as the AWS-managed layer (aws-otel-python-instrumentation's lambda-layer/src/Dockerfile installs
aws-opentelemetry-distro without its gRPC exporter, system-metrics and aws-lambda
instrumentations, ships its own aws-lambda instrumentation and drops urllib3), installed into a
directory on PYTHONPATH as /opt/python is on Lambda. The real layer on Lambda (arm64, Python
3.13) cannot be measured here. Sizes are of the arm64 / CPython 3.13 builds, unzipped and zipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

from scripts.bench.cold_start import FUNCTION_PYTHON, LAMBDA_ENV, build_function_tree
from scripts.bench.engines import HANDLER_ENV, REPO

MODES = ("xray", "otel", "off")
BENCH = REPO / ".bench" / "tracing"
#: The ADOT distro the layer is built from (its Requires-Dist pins OpenTelemetry 1.44.0 / 0.65b0).
ADOT_DISTRO = "aws-opentelemetry-distro==0.21.0"
#: What the layer's Dockerfile removes from the distro's requirements, and the instrumentation
#: of Lambda handlers it ships from its own source instead (the upstream package stands in).
LAYER_DROPS = (
    "opentelemetry-exporter-otlp-proto-grpc",
    "opentelemetry-instrumentation-aws-lambda",
    "opentelemetry-instrumentation-system-metrics",
)
LAYER_OWN_LAMBDA_INSTRUMENTATION = "opentelemetry-instrumentation-aws-lambda"
ARM64_PY313 = [
    "--platform", "manylinux_2_28_aarch64", "--platform", "manylinux2014_aarch64",
    "--implementation", "cp", "--python-version", "3.13", "--only-binary=:all:",
]  # fmt: skip
#: What the layer's wrapper script (/opt/otel-instrument) sets when the template sets
#: OTEL_AWS_APPLICATION_SIGNALS_ENABLED=false, Lambda's own variables aside.
OTEL_WRAPPER_ENV = {
    "OTEL_AWS_APPLICATION_SIGNALS_ENABLED": "false",
    "OTEL_AWS_APPLICATION_SIGNALS_RUNTIME_ENABLED": "false",
    "OTEL_SERVICE_NAME": "ThumbnailFunction",
    "OTEL_PROPAGATORS": "baggage,xray,tracecontext",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_RESOURCE_ATTRIBUTES": "cloud.region=us-east-1,cloud.platform=aws_lambda,"
    "cloud.provider=aws,faas.name=ThumbnailFunction",
    # Only botocore's instrumentation (and urllib's) stay on, as the wrapper leaves them.
    "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "aio-pika,aiohttp-client,aiohttp-server,aiopg,asgi,"
    "asyncio,asyncpg,boto,boto3,cassandra,celery,confluent_kafka,dbapi,django,elasticsearch,"
    "falcon,fastapi,flask,grpc_client,grpc_server,grpc_aio_client,grpc_aio_server,httpx,jinja2,"
    "kafka,logging,mysql,mysqlclient,pika,psycopg,psycopg2,pymemcache,pymongo,pymysql,pyramid,"
    "redis,remoulade,requests,sklearn,sqlalchemy,sqlite3,starlette,system_metrics,threading,"
    "tornado,tortoiseorm,wsgi,aws-lambda",
    "ORIG_HANDLER": "app.lambda_handler",
}

# The child's code: init, then two invocations; prints one JSON line.
CHILD = r"""
import json, os, sys, time
t, c = time.perf_counter(), time.process_time()
if os.environ["TRACING"] == "otel":
    from opentelemetry.instrumentation.auto_instrumentation import initialize
    initialize()
    from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor
    AwsLambdaInstrumentor().instrument()
import app
init = (time.perf_counter() - t, time.process_time() - c)
class Context:
    function_name = "ThumbnailFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ThumbnailFunction"
    aws_request_id = "52fdfc07-2182-454f-963f-5f0f9a621d72"
    def get_remaining_time_in_millis(self):
        return 60000
times = []
for number, event in enumerate(json.loads(os.environ["BENCH_EVENTS"]), start=1):
    os.environ["_X_AMZN_TRACE_ID"] = f"Root=1-6650f3a1-{number:024x};Parent={number:016x};Sampled=1"
    t, c = time.perf_counter(), time.process_time()
    result = app.lambda_handler(event, Context())
    times.append((time.perf_counter() - t, time.process_time() - c))
    assert result["outcomes"][0]["status"] == "written", result
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"aws_xray_sdk", "opentelemetry"})
print(json.dumps({"init": init, "invocations": times, "imported": loaded}))
"""


def _pip(python: Path, *args: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        check=True,
        capture_output=True,
        text=True,
    )


def layer_requirements(work: Path) -> list[str]:
    """The distro's requirements as the layer's Dockerfile installs them."""
    wheels = work / "distro-wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    _pip(Path(sys.executable), "download", "--no-deps", ADOT_DISTRO, "-d", str(wheels))
    [wheel] = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        lines = archive.read(metadata).decode().splitlines()
    requirements = [
        line.removeprefix("Requires-Dist: ")
        for line in lines
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    ]
    kept = [r for r in requirements if r.split("=")[0].split(";")[0].strip() not in LAYER_DROPS]
    [own] = [r for r in requirements if r.startswith(LAYER_OWN_LAMBDA_INSTRUMENTATION + "==")]
    return [*kept, own.split(";")[0]]


def build_layer_tree(target: Path, requirements: list[str], *, arm64: bool) -> Path:
    """The layer's /opt/python: the requirements, then the distro itself, urllib3 dropped."""
    shutil.rmtree(target, ignore_errors=True)
    python = FUNCTION_PYTHON if FUNCTION_PYTHON.exists() else Path(sys.executable)
    flags = ARM64_PY313 if arm64 else []
    _pip(python, "install", "--no-compile", *flags, "--target", str(target), *requirements)
    _pip(python, "install", "--no-compile", "--no-deps", *flags, "--target", str(target),
         ADOT_DISTRO)  # fmt: skip
    for path in target.glob("urllib3*"):
        shutil.rmtree(path)
    if not arm64:
        subprocess.run([str(python), "-m", "compileall", "-q", str(target)], check=True)
    return target


def build_arm64_function(target: Path) -> Path:
    """lambda/Makefile's build exactly as `sam build` runs it here (arm64 wheels; this machine
    has no CPython 3.13, so no bytecode, as the build says)."""
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(
        ["make", "--silent", "-f", str(REPO / "lambda" / "Makefile"), "build-ThumbnailFunction",
         f"ARTIFACTS_DIR={target}", f"PYTHON={sys.executable}", "PYTHON_FOR_BYTECODE="],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return target


def sizes(root: Path, names: tuple[str, ...] | None = None) -> dict[str, float]:
    """Unzipped and zipped MB of `root`, or of its top-level entries starting with `names`."""
    files = [
        path
        for path in root.rglob("*")
        if path.is_file() and (names is None or path.relative_to(root).parts[0].startswith(names))
    ]
    with tempfile.TemporaryFile() as scratch:
        with zipfile.ZipFile(scratch, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(root))
        zipped = scratch.tell()
    unzipped = sum(path.stat().st_size for path in files)
    return {"unzipped_mb": unzipped / 2**20, "zipped_mb": zipped / 2**20}


class UdpSink:
    """Stands where Lambda's X-Ray endpoint is (127.0.0.1:2000 there): counts the datagrams."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.datagrams = 0
        self.payloads: list[bytes] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            data = self.socket.recv(65536)
            self.datagrams += 1
            self.payloads.append(data[:48])


def _upload(s3: Any, key: str, data: bytes) -> dict[str, Any]:
    put = s3.put_object(Bucket="bench-in", Key=key, Body=data)
    event = json.loads((REPO / "events" / "s3-put.json").read_text())
    record = event["Records"][0]
    record["s3"]["bucket"]["name"] = "bench-in"
    record["s3"]["object"].update(key=key, size=len(data), eTag=put["ETag"].strip('"'))
    return event


def timings(runs: int, function_tree: Path, layer_tree: Path) -> dict[str, Any]:
    from scripts.local.server import LocalAws
    from scripts.support.sample_images import encode, photo

    data = encode(photo(1600, 1200), "JPEG", quality=90)
    python = FUNCTION_PYTHON if FUNCTION_PYTHON.exists() else Path(sys.executable)
    sink = UdpSink()
    results: dict[str, Any] = {}
    with LocalAws() as aws:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="bench-in")
        s3.create_bucket(Bucket=HANDLER_ENV["OUTPUT_BUCKET"])
        aws.client("sqs").create_queue(QueueName="bench-dlq")
        dlq_url = f"{aws.endpoint}/123456789012/bench-dlq"
        for run in range(runs):
            for mode in MODES:  # interleaved: a slow moment of the machine hits every mode
                events = [_upload(s3, f"uploads/bench/{mode}-{run}-{n}.jpg", data) for n in (1, 2)]
                path = [function_tree, *([layer_tree] if mode == "otel" else [])]
                env = {
                    **HANDLER_ENV,
                    **LAMBDA_ENV,
                    **aws.environment,
                    **(OTEL_WRAPPER_ENV if mode == "otel" else {}),
                    "DLQ_URL": dlq_url,
                    "TRACING": mode,
                    "LAMBDA_TASK_ROOT": str(function_tree),
                    "AWS_XRAY_DAEMON_ADDRESS": sink.address,
                    "PYTHONPATH": os.pathsep.join(map(str, path)),
                    "PYTHONDONTWRITEBYTECODE": "1",
                    "BENCH_EVENTS": json.dumps(events),
                    "PATH": os.environ.get("PATH", ""),
                }
                before = sink.datagrams
                child = subprocess.run(
                    [str(python), "-c", CHILD],
                    cwd=function_tree,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if child.returncode != 0:
                    raise RuntimeError(f"{mode}: {child.stderr[-3000:]}")
                figures = json.loads(child.stdout.strip().splitlines()[-1])
                threading.Event().wait(0.2)  # let the sink drain the last datagrams
                figures["datagrams"] = sink.datagrams - before
                figures["first_datagram"] = (
                    sink.payloads[before].decode(errors="replace") if figures["datagrams"] else ""
                )
                results.setdefault(mode, []).append(figures)
    return results


def wrapper_interpreter_ms(runs: int, layer_tree: Path) -> dict[str, float]:
    """What the layer's wrapper adds before the runtime's interpreter starts: it runs
    `opentelemetry-instrument` in an interpreter of its own, which then execs the runtime's.
    Measured with `true` as what it execs (so no second interpreter, no SDK set-up), wall and
    CPU (the child's, from getrusage)."""
    import resource
    import time

    python = FUNCTION_PYTHON if FUNCTION_PYTHON.exists() else Path(sys.executable)
    env = {"PYTHONPATH": str(layer_tree), "PATH": os.environ.get("PATH", "")}
    script = layer_tree / "bin" / "opentelemetry-instrument"
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([str(python), str(script), "true"], env=env, check=True)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return {"wall_ms": 1000 * statistics.median(wall), "cpu_ms": 1000 * statistics.median(cpu)}


def summary(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for mode in MODES:
        runs = results[mode]
        table[mode] = {
            "init_ms": 1000 * statistics.median(r["init"][0] for r in runs),
            "init_cpu_ms": 1000 * statistics.median(r["init"][1] for r in runs),
            "first_ms": 1000 * statistics.median(r["invocations"][0][0] for r in runs),
            "first_cpu_ms": 1000 * statistics.median(r["invocations"][0][1] for r in runs),
            "warm_ms": 1000 * statistics.median(r["invocations"][1][0] for r in runs),
            "datagrams": statistics.median(r["datagrams"] for r in runs),
            "imported": runs[0]["imported"],
        }
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    BENCH.mkdir(parents=True, exist_ok=True)
    python = FUNCTION_PYTHON if FUNCTION_PYTHON.exists() else Path(sys.executable)

    requirements = layer_requirements(BENCH)
    function_host = build_function_tree(BENCH / "function", bytecode_python=str(python))
    layer_host = build_layer_tree(BENCH / "layer" / "python", requirements, arm64=False)
    function_arm64 = build_arm64_function(BENCH / "function-arm64")
    layer_arm64 = build_layer_tree(BENCH / "layer-arm64" / "python", requirements, arm64=True)

    size = {
        "function package": sizes(function_arm64),
        "of which the X-Ray SDK (aws_xray_sdk, wrapt)": sizes(
            function_arm64, ("aws_xray_sdk", "wrapt")
        ),
        "ADOT layer (its Python packages)": sizes(layer_arm64),
    }
    results = timings(args.runs, function_host, layer_host)
    table = summary(results)
    extra_interpreter = wrapper_interpreter_ms(args.runs, layer_host)
    report = {
        "runs": args.runs,
        "timings": table,
        "sizes": size,
        "wrapper_interpreter_ms": extra_interpreter,
        "layer_requirements": requirements,
        "raw": {mode: results[mode] for mode in MODES},
    }
    (BENCH / "results.json").write_text(json.dumps(report, indent=2))

    print(f"Tracing: medians of {args.runs} fresh processes each (wall ms; CPU ms in brackets)")
    print("| Tracing | init | first invocation | warm invocation | UDP datagrams | imported |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for mode, row in table.items():
        print(
            f"| {mode} | {row['init_ms']:.0f} ({row['init_cpu_ms']:.0f}) "
            f"| {row['first_ms']:.0f} ({row['first_cpu_ms']:.0f}) | {row['warm_ms']:.0f} "
            f"| {row['datagrams']:.0f} | {', '.join(row['imported']) or '-'} |"
        )
    print(
        f"otel's wrapper: one more interpreter first, {extra_interpreter['wall_ms']:.0f} ms wall "
        f"({extra_interpreter['cpu_ms']:.0f} ms CPU)"
    )
    for name, figures in size.items():
        print(f"{name}: {figures['unzipped_mb']:.1f} MB ({figures['zipped_mb']:.1f} MB zipped)")


if __name__ == "__main__":
    main()

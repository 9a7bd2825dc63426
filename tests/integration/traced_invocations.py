"""Runs the handler on three uploads and a delete with TRACING set, in a process of its own,
and prints what was traced as JSON into a file (stdout has the function's logs and metrics):
`python -m tests.integration.traced_invocations xray|otel|off RESULT.json`.

The tracer is chosen when `thumbnailer.observability` is imported, so each mode needs a fresh
interpreter. The three uploads are a good JPEG, a bad one (not an image) and one whose read S3
refuses with SlowDown (a transient failure); then the good one is deleted (delete sync lists and
deletes its thumbnails); notifications are on. What is recorded is caught in
memory:

- otel: the OpenTelemetry SDK with an in-memory exporter, set up before the handler is imported,
  as the ADOT layer's wrapper sets up its own.
- xray: the X-Ray SDK as in Lambda (a task root and a sampled trace header per invocation), its
  emitter replaced by one that keeps every subsegment it would have sent to the daemon.
- off: nothing; the output says which tracing SDKs were imported.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
INPUT_BUCKET = "uploads-in"
#: Keys of the three uploads, and what S3 does with each.
GOOD, BAD, THROTTLED = "uploads/a/good.jpg", "uploads/a/bad.jpg", "uploads/a/throttled.jpg"


def _spans_otel() -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    def finished() -> list[dict[str, Any]]:
        names = {span.context.span_id: span.name for span in exporter.get_finished_spans()}
        return [
            {
                "name": span.name,
                "parent": names.get(span.parent.span_id) if span.parent else None,
                "attributes": {key: _plain(value) for key, value in span.attributes.items()},
                "error": span.status.status_code.name == "ERROR",
                "exceptions": [
                    event.attributes["exception.type"]
                    for event in span.events
                    if event.name == "exception"
                ],
            }
            for span in exporter.get_finished_spans()
        ]

    return finished


def _spans_xray() -> Any:
    os.environ.update(
        LAMBDA_TASK_ROOT=str(REPO / "lambda"), AWS_LAMBDA_FUNCTION_NAME="ThumbnailFunction"
    )
    os.environ.pop("POWERTOOLS_TRACE_DISABLED", None)
    from aws_xray_sdk.core import xray_recorder

    sent: list[Any] = []

    class KeepingEmitter:
        """Keeps what the SDK would send to the X-Ray daemon over UDP."""

        def send_entity(self, entity: Any) -> None:
            sent.append(entity.to_dict() if hasattr(entity, "to_dict") else entity)

        def set_daemon_address(self, address: str) -> None:
            pass

    xray_recorder.configure(emitter=KeepingEmitter())

    def finished() -> list[dict[str, Any]]:
        names = {entity["id"]: entity["name"] for entity in sent}
        return [
            {
                "name": entity["name"],
                "parent": names.get(entity.get("parent_id")),
                "attributes": {key: _plain(v) for key, v in entity.get("annotations", {}).items()},
                "error": bool(entity.get("fault") or entity.get("error")),
                # A parent the same exception left names it by id (cause is a string) instead.
                "exceptions": (
                    [
                        e.get("type")
                        for e in (entity.get("cause") or {"exceptions": []}).get("exceptions", [])
                    ]
                    if not isinstance(entity.get("cause"), str)
                    else []
                ),
                "namespace": entity.get("namespace"),
            }
            for entity in sent
        ]

    return finished


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def _event(s3: Any, key: str, data: bytes) -> dict[str, Any]:
    put = s3.put_object(Bucket=INPUT_BUCKET, Key=key, Body=data)
    record = json.loads((REPO / "events" / "s3-put.json").read_text())["Records"][0]
    record["s3"]["bucket"].update(name=INPUT_BUCKET, arn=f"arn:aws:s3:::{INPUT_BUCKET}")
    record["s3"]["object"].update(key=key, size=len(data), eTag=put["ETag"].strip('"'))
    return {"Records": [record]}


def _removed(key: str) -> dict[str, Any]:
    """The ObjectRemoved event of `key`, later than its upload's (a greater sequencer)."""
    record = json.loads((REPO / "events" / "s3-put.json").read_text())["Records"][0]
    record.update(eventName="ObjectRemoved:Delete")
    record["s3"]["bucket"].update(name=INPUT_BUCKET, arn=f"arn:aws:s3:::{INPUT_BUCKET}")
    record["s3"]["object"] = {"key": key, "sequencer": "0066A1B2C3D4E5F602"}
    return {"Records": [record]}


def _throttle_reads_of(key: str) -> None:
    """S3 answers SlowDown to every GetObject of `key` (the function's own client only)."""
    from botocore.exceptions import ClientError

    from thumbnailer.storage import aws_client

    def slow_down(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == key:
            error = {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}
            raise ClientError(error, "GetObject")

    aws_client("s3").meta.events.register("before-parameter-build.s3.GetObject", slow_down)


def run(mode: str) -> dict[str, Any]:
    os.environ["TRACING"] = mode
    finished = {"otel": _spans_otel, "xray": _spans_xray}.get(mode, lambda: list)()

    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=INPUT_BUCKET)
        s3.create_bucket(Bucket=os.environ["OUTPUT_BUCKET"])
        boto3.client("sqs").create_queue(QueueName="thumbs-dlq")
        # Notifications on, so that the SNS call is traced too (read when app is imported).
        topic = boto3.client("sns").create_topic(Name="thumbs-notifications")["TopicArn"]
        os.environ["NOTIFICATION_TOPIC_ARN"] = topic
        events = [
            _event(s3, GOOD, _jpeg()),
            _event(s3, BAD, b"%PDF-1.7 not an image"),
            _event(s3, THROTTLED, _jpeg()),
            _removed(GOOD),
        ]

        import app
        from thumbnailer.errors import TransientError

        _throttle_reads_of(THROTTLED)
        outcomes: list[str] = []
        for number, event in enumerate(events, start=1):
            if event is events[-1]:
                # The test's own delete, in a trace not sampled: X-Ray records none of it.
                os.environ["_X_AMZN_TRACE_ID"] = f"Root=1-6650f3a1-{0:024x};Sampled=0"
                s3.delete_object(Bucket=INPUT_BUCKET, Key=GOOD)
            os.environ["_X_AMZN_TRACE_ID"] = (
                f"Root=1-6650f3a1-{number:024x};Parent={number:016x};Sampled=1"
            )
            try:
                result = app.lambda_handler(event, _Context())
                outcomes += [outcome["status"] for outcome in result["outcomes"]]
            except TransientError:
                outcomes.append("raised TransientError")
    return {
        "outcomes": outcomes,
        "spans": finished(),
        "imported": sorted(
            {name.split(".")[0] for name in sys.modules}
            & {"aws_xray_sdk", "opentelemetry", "wrapt"}
        ),
    }


class _Context:
    function_name = "ThumbnailFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ThumbnailFunction"
    aws_request_id = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(run(sys.argv[1])))

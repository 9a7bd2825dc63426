"""TRACING: the handler's spans under OpenTelemetry, the same as its X-Ray subsegments, and no
tracing SDK at all when it is off.

Each mode runs in a process of its own (`tests.integration.traced_invocations`): the tracer is
chosen when the function's modules are imported. Each process handles the same three uploads:
a good JPEG, a PDF named .jpg, and a JPEG whose read S3 refuses with SlowDown; then the good
JPEG's delete.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.traced_invocations import BAD, GOOD, INPUT_BUCKET, THROTTLED

REPO = Path(__file__).resolve().parents[2]
OUTPUT_BUCKET = os.environ["OUTPUT_BUCKET"]
HANDLER = "## lambda_handler"
PROCESS = "## thumbnailer.processing.ThumbnailService.process"
XRAY_ANNOTATIONS = "aws.xray.annotations"


def _traced(mode: str, tmp_path: Path) -> dict[str, Any]:
    result = tmp_path / f"{mode}.json"
    run = subprocess.run(
        [sys.executable, "-m", "tests.integration.traced_invocations", mode, str(result)],
        cwd=REPO,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO / "lambda"), str(REPO)]),
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(result.read_text())


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp_path = tmp_path_factory.mktemp("traced")
    return {mode: _traced(mode, tmp_path) for mode in ("otel", "xray", "off")}


def _invocations(spans: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The spans of each invocation, in the order they ended (the handler's span last)."""
    invocations: list[list[dict[str, Any]]] = [[]]
    for span in spans:
        invocations[-1].append(span)
        if span["name"] == HANDLER:
            invocations.append([])
    return invocations[:-1]


def _by_name(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    named: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        named.setdefault(span["name"], []).append(span)
    return named


def _annotations(span: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in span["attributes"].items() if k != XRAY_ANNOTATIONS}


def test_otel_shows_a_good_upload_as_spans_with_their_annotations(traced):
    # GIVEN the handler traced with OpenTelemetry (an in-memory exporter)
    otel = traced["otel"]

    # WHEN the spans of the good upload's invocation are read
    good = _by_name(_invocations(otel["spans"])[0])

    # THEN the S3 calls and the image work are there, each under the object's processing,
    # with the bucket, the key and the bytes; the processing span has the outcome
    assert otel["outcomes"][0] == "written"
    assert set(good) == {
        HANDLER,
        PROCESS,
        "S3 HeadObject",
        "S3 GetObject",
        "Render thumbnails",
        "S3 PutObject",
        "SNS Publish",
    }
    source = {"bucket": INPUT_BUCKET, "key": GOOD}
    [get] = good["S3 GetObject"]
    assert _annotations(get) == source | {"bytes": get["attributes"]["bytes"]}
    assert get["attributes"]["bytes"] > 0
    assert _annotations(good[PROCESS][0]) == source | {"outcome": "written"}
    assert [
        (_annotations(put)["bucket"], _annotations(put)["key"]) for put in good["S3 PutObject"]
    ] == [
        (OUTPUT_BUCKET, "a/good_128w.webp"),
        (OUTPUT_BUCKET, "a/good_512w.webp"),
    ]
    assert all(_annotations(put)["bytes"] > 0 for put in good["S3 PutObject"])
    assert {
        span["parent"] for name, spans in good.items() if name != HANDLER for span in spans
    } == {
        HANDLER,
        PROCESS,
    }
    assert good[HANDLER][0]["attributes"]["ColdStart"] is True
    # AND the notification's publish has its outcome
    assert [_annotations(span) for span in good["SNS Publish"]] == [{"outcome": "success"}]
    # AND nothing is in error; every annotation is listed for X-Ray to index
    assert not any(span["error"] for spans in good.values() for span in spans)
    for spans in good.values():
        for span in spans:
            assert span["attributes"][XRAY_ANNOTATIONS] == sorted(_annotations(span))


def test_otel_shows_a_bad_upload_rejected_and_reported_to_the_dead_letter_queue(traced):
    # GIVEN the handler traced with OpenTelemetry
    otel = traced["otel"]

    # WHEN the spans of the bad upload's invocation are read
    bad = _by_name(_invocations(otel["spans"])[1])

    # THEN the image work failed on the bad object, the record went to the DLQ (SQS), and the
    # object's outcome is rejected, with its reason; no thumbnail was written
    assert otel["outcomes"][1] == "rejected"
    [render], [send], [process] = bad["Render thumbnails"], bad["SQS SendMessage"], bad[PROCESS]
    assert render["error"] is True
    assert render["exceptions"] == ["thumbnailer.errors.UnsupportedFormatError"]
    source = {"bucket": INPUT_BUCKET, "key": BAD}
    assert _annotations(send) == source | {"reason": "unsupported_format"}
    assert _annotations(process) == source | {"outcome": "rejected", "reason": "unsupported_format"}
    assert "S3 PutObject" not in bad
    assert [_annotations(span) for span in bad["SNS Publish"]] == [{"outcome": "failure"}]
    # AND a bad object is an outcome, not a failure of the invocation
    assert process["error"] is False
    assert bad[HANDLER][0]["error"] is False


def test_otel_shows_a_transient_failure_as_an_error_up_to_the_invocation(traced):
    # GIVEN the handler traced with OpenTelemetry
    otel = traced["otel"]

    # WHEN the spans of the throttled upload's invocation are read
    throttled = _by_name(_invocations(otel["spans"])[2])

    # THEN the S3 read is in error with the transient error, the object's outcome says so,
    # and the invocation (which Lambda will retry) is in error too; nothing was rendered
    assert otel["outcomes"][2] == "raised TransientError"
    [get], [process], [handler] = throttled["S3 GetObject"], throttled[PROCESS], throttled[HANDLER]
    assert (get["error"], get["exceptions"]) == (True, ["thumbnailer.errors.TransientError"])
    assert _annotations(get) == {"bucket": INPUT_BUCKET, "key": THROTTLED}
    assert _annotations(process) == {
        "bucket": INPUT_BUCKET,
        "key": THROTTLED,
        "outcome": "transient",
    }
    assert process["error"] is True
    assert handler["error"] is True
    assert "Render thumbnails" not in throttled


def test_otel_shows_a_delete_listing_and_deleting_the_thumbnails(traced):
    # GIVEN the handler traced with OpenTelemetry
    otel = traced["otel"]

    # WHEN the spans of the good upload's delete are read
    deleted = _by_name(_invocations(otel["spans"])[3])

    # THEN delete sync listed the name's outputs, then deleted each thumbnail, and the
    # object's outcome is deleted
    assert otel["outcomes"][3] == "deleted"
    [listing], [process] = deleted["S3 ListObjectsV2"], deleted[PROCESS]
    assert _annotations(listing) == {"bucket": OUTPUT_BUCKET, "prefix": "a/good"}
    assert [_annotations(span) for span in deleted["S3 DeleteObject"]] == [
        {"bucket": OUTPUT_BUCKET, "key": "a/good_128w.webp"},
        {"bucket": OUTPUT_BUCKET, "key": "a/good_512w.webp"},
    ]
    assert _annotations(process) == {"bucket": INPUT_BUCKET, "key": GOOD, "outcome": "deleted"}
    assert [_annotations(span) for span in deleted["SNS Publish"]] == [{"outcome": "deleted"}]
    assert not any(span["error"] for spans in deleted.values() for span in spans)


def test_xray_records_the_same_names_annotations_and_errors_as_otel(traced):
    # GIVEN the same four invocations traced by the X-Ray SDK and by OpenTelemetry
    def ours(spans: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        # botocore's own subsegments (namespace aws) are the X-Ray SDK's patch; under otel
        # the layer's botocore instrumentation adds the same, which this test does not load
        return [
            (span["name"], span["parent"], _annotations(span), span["error"])
            for span in spans
            if span.get("namespace") != "aws"
        ]

    # WHEN their spans and subsegments are compared, in the order they ended
    xray, otel = ours(traced["xray"]["spans"]), ours(traced["otel"]["spans"])

    # THEN they are the same, for the good, the bad and the throttled upload and the delete
    assert traced["xray"]["outcomes"] == traced["otel"]["outcomes"]
    assert len(otel) == len(traced["otel"]["spans"]) > 4 * 2
    assert xray == otel
    # AND under X-Ray the AWS SDK's calls are subsegments of ours, as the layer's are under otel
    botocore = [s for s in traced["xray"]["spans"] if s.get("namespace") == "aws"]
    assert {s["parent"] for s in botocore} == {
        "S3 HeadObject",
        "S3 GetObject",
        "S3 PutObject",
        "S3 ListObjectsV2",
        "S3 DeleteObject",
        "SQS SendMessage",
        "SNS Publish",
    }


def test_off_imports_neither_tracing_sdk_and_changes_no_outcome(traced):
    # GIVEN the four invocations with TRACING=off, and with the two tracers
    # WHEN the modules each process imported are listed
    imported = {mode: result["imported"] for mode, result in traced.items()}

    # THEN off imported neither the X-Ray SDK (nor wrapt, which it brings) nor OpenTelemetry,
    # and recorded nothing; each tracer imported only its own SDK
    assert imported == {"off": [], "xray": ["aws_xray_sdk", "wrapt"], "otel": ["opentelemetry"]}
    assert traced["off"]["spans"] == []
    # AND the outcomes are the same whatever the tracer
    assert traced["off"]["outcomes"] == traced["xray"]["outcomes"] == traced["otel"]["outcomes"]


def _import_observability(tracing: str, *, hide_opentelemetry: bool = False) -> str:
    hide = "import sys; sys.modules['opentelemetry'] = None; " if hide_opentelemetry else ""
    run = subprocess.run(
        [sys.executable, "-c", hide + "import thumbnailer.observability"],
        cwd=REPO,
        env={**os.environ, "TRACING": tracing, "PYTHONPATH": str(REPO / "lambda")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return run.stderr


def test_a_tracing_value_the_template_refuses_fails_the_start_naming_the_variable():
    # GIVEN TRACING set to something that is not xray, otel or off
    # WHEN the function's observability module is imported, as at init
    error = _import_observability("X-Ray")
    # THEN the init fails, naming the variable and the values it takes
    assert "SettingsError" in error
    assert "TRACING must be one of xray, otel, off, got 'X-Ray'" in error


def test_otel_without_the_adot_layer_fails_the_start_and_says_what_is_missing():
    # GIVEN TRACING=otel on a function without the layer (no OpenTelemetry API to import)
    # WHEN the function's observability module is imported, as at init
    error = _import_observability("otel", hide_opentelemetry=True)
    # THEN the init fails and says the layer is what provides it
    assert "TRACING=otel needs the OpenTelemetry API, which the ADOT Lambda layer provides" in error

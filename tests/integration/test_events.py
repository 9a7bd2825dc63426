"""events/: what `sam local invoke -e ... --env-vars events/env.json` gives the function.

Docker (and so `sam local invoke`) is not available to the tests. They drive the same handler
with the same files instead, so that the files cannot drift from what the handler accepts:
in-process against moto, and over HTTP against `make local-aws` in a worker process whose
environment is env.json's, as SAM's container's would be.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from cfnlint.decode import cfn_yaml
from moto import mock_aws

import app
from scripts.local.invoker import LambdaInvoker
from scripts.local.local_aws import create, event_files, function_env, objects_named_by
from scripts.local.resources import TEMPLATE, LocalStack
from scripts.local.server import REGION, free_port
from tests.integration.conftest import load_event
from thumbnailer.settings import ENV_VARS, LOCAL_ENDPOINT_ENV_VAR, Settings

REPO = Path(__file__).resolve().parents[2]

#: For every event file: (key, status, reason) of each object, as the handler reports them.
EXPECTED = {
    "s3-put.json": [("uploads/My Photos/été 2024+fun (1).jpg", "written", "")],
    "s3-put-multi.json": [
        ("uploads/holiday/beach day.jpg", "written", ""),
        ("uploads/logos/logo.png", "written", ""),
        ("uploads/broken/not-really-a.jpg", "rejected", "truncated_image"),
    ],
    "s3-test-event.json": [],
    # S3 Batch Operations: (task id, result code, result string prefix)
    "batch-operations-1.0.json": [("dGFza2lkZ29lc2hlcmUK", "Succeeded", "written")],
    "batch-operations-2.0.json": [("dGFza2lkZ29lc2hlcmUK", "Succeeded", "written")],
    # IngestMode=queue: (what each message carries, whether the batch response lets the event
    # source mapping delete it, ""). The broken image is a bad object, not a failed message: it
    # gets its DLQ record from the function and is not retried.
    "sqs-ingest-batch.json": [
        ("s3:TestEvent", "deleted", ""),
        ("uploads/My Photos/été 2024+fun (1).jpg", "deleted", ""),
        ("uploads/broken/not-really-a.jpg", "deleted", ""),
    ],
}
#: What the files whose responses list no objects' outcomes leave: (thumbnails, DLQ records).
STORES = {
    "batch-operations-1.0.json": (
        {"holiday/beach day_128w.webp", "holiday/beach day_512w.webp"},
        [],
    ),
    "batch-operations-2.0.json": (
        {"holiday/beach day_128w.webp", "holiday/beach day_512w.webp"},
        [],
    ),
    "sqs-ingest-batch.json": (
        {"My Photos/été 2024+fun (1)_128w.webp", "My Photos/été 2024+fun (1)_512w.webp"},
        ["uploads/broken/not-really-a.jpg"],
    ),
}
# Over HTTP the files share one local AWS: notifications first, so the Batch Operations tasks
# then find their thumbnails made (and succeed without work, as a re-run job would).
HTTP_ORDER = sorted(EXPECTED, key=lambda name: (name.startswith("batch-"), name))
HTTP_EXPECTED = EXPECTED | {
    name: [(task, code, "ignored")]
    for name in EXPECTED
    if name.startswith("batch-")
    for task, code, _ in EXPECTED[name]
}
THUMBNAILS = {
    "My Photos/été 2024+fun (1)_128w.webp",
    "My Photos/été 2024+fun (1)_512w.webp",
    "holiday/beach day_128w.webp",
    "holiday/beach day_512w.webp",
    "logos/logo_128w.webp",
    "logos/logo_512w.webp",
}


def _outcomes(response: dict[str, Any], event: dict[str, Any]) -> list[tuple[str, str, str]]:
    if "results" in response:  # S3 Batch Operations
        return [
            (r["taskId"], r["resultCode"], r["resultString"].split(":")[0])
            for r in response["results"]
        ]
    if "batchItemFailures" in response:  # an SQS batch (IngestMode=queue)
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        return [
            (
                _carried(json.loads(record["body"])),
                "kept" if record["messageId"] in failed else "deleted",
                "",
            )
            for record in event["Records"]
        ]
    return [(o["key"], o["status"], o["reason"]) for o in response["outcomes"]]


def _carried(notification: dict[str, Any]) -> str:
    """What an ingest message carries: its object's key, or S3's test event."""
    if notification.get("Event") == "s3:TestEvent":
        return "s3:TestEvent"
    [record] = notification["Records"]
    return unquote_plus(record["s3"]["object"]["key"])


def _output_keys(s3: Any, bucket: str) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def _dead_letter_keys(sqs: Any, queue_url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return sorted(json.loads(m["Body"])["key"] for m in messages.get("Messages", []))


def test_every_event_file_has_its_expected_outcome():
    assert {path.name for path in event_files()} == set(EXPECTED)


def test_env_json_sets_the_function_contract_and_only_what_sam_can_set():
    # GIVEN env.json and the template (SAM ignores variables the template does not declare)
    env = function_env()
    template = cfn_yaml.load(str(TEMPLATE))
    function = template["Resources"]["ThumbnailFunction"]["Properties"]
    declared = set(function["Environment"]["Variables"]) | set(
        template["Globals"]["Function"]["Environment"]["Variables"]
    )
    parameters = template["Parameters"]

    # THEN it sets the function's whole contract, plus the endpoint, all declared
    assert set(env) == set(ENV_VARS) | {LOCAL_ENDPOINT_ENV_VAR}
    assert set(env) <= declared
    # AND the values are valid, the template's defaults (notifications off, as by default),
    # and all on the same local endpoint
    assert Settings.from_env(env).notification_topic_arn == ""
    assert parameters["EnableNotifications"]["Default"] == "false"
    assert (env["THUMB_SIZES"], env["WEBP_QUALITY"], env["INPUT_PREFIX"]) == (
        parameters["ThumbnailSizes"]["Default"],
        str(parameters["WebPQuality"]["Default"]),
        parameters["InputPrefix"]["Default"],
    )
    assert env["DLQ_URL"].startswith(env["AWS_ENDPOINT_URL"] + "/")


class _InProcessAws:
    """moto's in-process mock, with the one method of LocalAws that `create` uses."""

    @staticmethod
    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION)


@pytest.fixture
def local_resources(monkeypatch):
    """What `make local-aws` creates, in moto's in-process mock; the function set up by env.json
    (its endpoint aside: the mock stands in for it)."""
    env = function_env()
    monkeypatch.setattr(app, "SETTINGS", Settings.from_env(env))
    app.thumbnail_service.cache_clear()
    with mock_aws():
        stack = create(_InProcessAws(), env, event_files())
        yield stack
    app.thumbnail_service.cache_clear()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_event_file_drives_the_handler_in_process(local_resources, lambda_context, name):
    # GIVEN the objects the event names exist / WHEN the event file reaches the handler
    event = load_event(name)
    response = app.lambda_handler(event, lambda_context)

    # THEN each object has the expected outcome, with its thumbnails or its one DLQ record
    assert _outcomes(response, event) == EXPECTED[name]
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    if name in STORES:
        reported, rejected = STORES[name]
    else:
        reported = {thumbnail for o in response["outcomes"] for thumbnail in o["thumbnails"]}
        rejected = sorted(key for key, status, _ in EXPECTED[name] if status == "rejected")
    assert _output_keys(s3, local_resources.output_bucket) == reported
    assert reported <= THUMBNAILS
    assert _dead_letter_keys(sqs, local_resources.dlq_url) == rejected


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_make_local_aws_serves_every_event_file_over_http(tmp_path):
    # GIVEN `make local-aws` (on a free port here), ready
    port = free_port()
    log = tmp_path / "local-aws.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "scripts.local.local_aws", "--port", str(port)],
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        assert _wait(lambda: "Ctrl-C stops it." in log.read_text(), 60), log.read_text()
        endpoint = f"http://127.0.0.1:{port}"
        # AND the function's environment as SAM builds it: env.json, with host.docker.internal
        # being this machine, the template's Globals, and SAM's own variables
        docker_host_endpoint = function_env()["AWS_ENDPOINT_URL"]
        env = {
            name: value.replace(docker_host_endpoint, endpoint)
            for name, value in function_env().items()
        } | {
            "POWERTOOLS_SERVICE_NAME": "thumbnailer",
            "POWERTOOLS_METRICS_NAMESPACE": "ServerlessImagePipeline",
            "AWS_SAM_LOCAL": "true",
            "AWS_ACCESS_KEY_ID": "defaultkey",
            "AWS_SECRET_ACCESS_KEY": "defaultsecret",
        }
        assert env["AWS_ENDPOINT_URL"] == endpoint
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
        dlq_url = sqs.get_queue_url(QueueName="sip-local-dlq.fifo")["QueueUrl"]
        invoker = LambdaInvoker(env, dlq_url, sqs, workers=1, max_retries=0)
        try:
            # WHEN each event file is invoked
            responses = {name: invoker.invoke(load_event(name)) for name in HTTP_ORDER}
        finally:
            invoker.close()

        # THEN every file was accepted, with the outcomes expected, in the local AWS
        assert {
            name: _outcomes(inv.response or {"outcomes": []}, inv.event)
            for name, inv in responses.items()
        } == HTTP_EXPECTED
        assert _output_keys(s3, "sip-local-output") == THUMBNAILS
        # AND one DLQ record for the broken image, which two events named (s3-put-multi.json,
        # then the SQS batch): the FIFO queue keeps one report of one object
        assert _dead_letter_keys(sqs, dlq_url) == ["uploads/broken/not-really-a.jpg"]
    finally:
        # AND Ctrl-C stops the server cleanly
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_event_etags_and_sizes_are_those_of_the_objects_make_local_aws_creates():
    # GIVEN the objects `make local-aws` creates for the event files
    objects = objects_named_by(event_files(), function_env()["INPUT_PREFIX"])
    # WHEN each notification record (also those in SQS batch bodies) is compared with its object
    for path in event_files():
        for record in _notification_records(json.loads(path.read_text())):
            s3 = record["s3"]
            data = objects[(s3["bucket"]["name"], unquote_plus(s3["object"]["key"]))]
            # THEN the event names exactly that content: the function reads the source with
            # If-Match on the event's ETag, and skips an event whose object has changed since
            assert s3["object"]["eTag"] == hashlib.md5(data).hexdigest(), path.name
            assert s3["object"]["size"] == len(data), path.name


def _notification_records(event: dict[str, Any]) -> list[dict[str, Any]]:
    records = []
    for record in event.get("Records", []):
        if record.get("eventSource") == "aws:sqs":
            records += _notification_records(json.loads(record["body"]))
        else:
            records.append(record)
    return records


@pytest.mark.parametrize(("given", "events"), [
    ({}, ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]),
    ({"SyncDeletes": "false"}, ["s3:ObjectCreated:*"]),
])  # fmt: skip
def test_the_local_stack_subscribes_what_the_template_does_by_default(given, events):
    # GIVEN the local stand-in of the stack, with the template's defaults or SyncDeletes off
    with mock_aws():
        stack = LocalStack(_InProcessAws(), parameters=given).create()
        # WHEN its input bucket's notification is read
        notification = boto3.client("s3", region_name=REGION).get_bucket_notification_configuration(
            Bucket=stack.input_bucket
        )
    # THEN it sends the events the deployed stack's would (SyncDeletes is on by default)
    [configuration] = notification["QueueConfigurations"]
    assert configuration["Events"] == events

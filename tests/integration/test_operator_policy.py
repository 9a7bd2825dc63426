"""iac/operator-policy.yaml, proven by running: `make redrive` and `make backfill` under a role
holding exactly the operator policy, in moto with IAM enforced (as tests/integration/
test_function_role.py does for the function's role).

Not run here, and so listed in NOT_EXERCISED with the reason: reading the stack (--stack-name:
moto rejects Lambda requests signed with session credentials) and starting a Batch Operations
job (moto has no s3control CreateJob).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import app
from scripts.local import execution_role
from scripts.local.execution_role import Statement
from scripts.ops import backfill, redrive
from tests.conftest import INPUT_BUCKET, FakeLambdaContext
from tests.integration.conftest import event_of
from tests.integration.templates import OPERATOR_TEMPLATE, cfn_lint_findings
from tests.integration.test_duplicates_and_deletes import removed
from tests.integration.test_function_role import (
    DLQ_NAME,
    FAILED_EVENT_QUEUE,
    OUTPUT_BUCKET,
    PNG,
    Harness,
    Path,
    World,
    harness,  # noqa: F401 - a fixture
    necessity_cases,
    report,
    run_every_path,
    thumbnails_of,
    world,  # noqa: F401 - a fixture
)
from tests.integration.test_redrive import lambda_gave_up_on

INVENTORY_BUCKET = "thumbs-inventory"
MANIFEST = "inventory/uploads-in/thumbnails/2026-11-22T01-00Z/manifest.json"
#: Statements no local run can need, and why; docs/security.md says what protects them.
NOT_EXERCISED = {
    "ReplayFailedEvents:sqs:SendMessage": "redrive re-queues to the failed-event queue what fails "
    "again for a transient reason; under the operator policy in moto, the tools' own S3 calls "
    "fail only by a denial, which the run counts as a failure (the same action on the DLQ is "
    "proven by ReplayDeadLetters)",
    "ReadStack": "used only by --stack-name, which goes on to lambda:GetFunctionConfiguration",
    "ReadFunctionSettings": "moto answers SignatureDoesNotMatch to Lambda requests signed with "
    "session credentials, so lambda:GetFunctionConfiguration cannot be enforced",
    "StartBatchOperationsJobs": "moto has no s3control CreateJob",
    "PassBatchOperationsRole": "moto has no s3control CreateJob, which is what passes the role",
}


def operator_policy(shape: str) -> list[dict[str, Any]]:
    """The operator policy for the function's `shape`, resolved for the local resources."""
    parameters = {
        "ThumbnailFunctionName": "sip-local-ThumbnailFunction",
        "InputBucketName": INPUT_BUCKET,
        "OutputBucketName": OUTPUT_BUCKET,
        "DeadLetterQueueUrl": f"https://sqs.us-east-1.amazonaws.com/123456789012/{DLQ_NAME}",
    }
    if shape == "sync-deletes-notifications":
        parameters |= {
            "SyncDeletes": "true",
            "FailedEventQueueUrl": f"https://sqs.us-east-1.amazonaws.com/123456789012/"
            f"{FAILED_EVENT_QUEUE}",
            "NotificationTopicArn": "arn:aws:sns:us-east-1:123456789012:thumbs-notifications",
            "InventoryBucketName": INVENTORY_BUCKET,
        }
    batch_role = {"BatchOperationsRole.Arn": "arn:aws:iam::123456789012:role/BatchOperations"}
    return execution_role.operator_policies(parameters, batch_role)


SHAPES = ["defaults", "sync-deletes-notifications"]
POLICIES = {shape: operator_policy(shape) for shape in SHAPES}


# --- the runs: each raises (or leaves a denial) when the tool cannot do its job ---------------


def run_redrive(h: Harness, *args: str) -> None:
    with h.as_function():
        assert redrive.main(["--max-messages", "20", *args]) == 0


def redrive_dry_run_then_replay(h: Harness, run: str) -> None:
    key = f"uploads/{run}/failed.png"
    lambda_gave_up_on(h.stack, event_of(h.stack.upload(key, PNG)))
    run_redrive(h, "--dry-run")  # looks, then makes the message visible again
    run_redrive(h)
    assert set(thumbnails_of(key)) <= set(h.stack.output_keys())


def redrive_requeues_what_still_fails(h: Harness, run: str) -> None:
    key = f"uploads/{run}/still-bad.png"
    lambda_gave_up_on(h.stack, event_of(h.stack.upload(key, b"still not an image")))
    run_redrive(h)
    [record] = [body for body in h.stack.dead_letters() if body.get("key") == key]
    assert record["replays"] == 1


def redrive_replays_a_delete(h: Harness, run: str) -> None:
    key = f"uploads/{run}/deleted.png"
    record = h.stack.upload(key, PNG)
    app.lambda_handler(event_of(record), FakeLambdaContext())  # as the function, unenforced
    h.stack.s3.delete_object(Bucket=INPUT_BUCKET, Key=key)
    lambda_gave_up_on(h.stack, event_of(removed(record, sequencer="FFFFFFFFFFFFFFFFFF")))
    run_redrive(h)
    assert not set(thumbnails_of(key)) & set(h.stack.output_keys())


def redrive_replays_the_failed_event_queue(h: Harness, run: str) -> None:
    """An event Lambda gave up on, in the failed-event queue (read after the DLQ), replayed."""
    key = f"uploads/{run}/late.png"
    queue = h.stack.failed_event_queue_url
    h.stack.sqs.send_message(
        QueueUrl=queue, MessageBody=json.dumps(event_of(h.stack.upload(key, PNG)))
    )
    run_redrive(h, "--dry-run")  # looks, then makes the message visible again
    run_redrive(h)
    assert set(thumbnails_of(key)) <= set(h.stack.output_keys())


def backfill_the_prefix(h: Harness, run: str) -> None:
    key = f"uploads/{run}/old.png"
    h.stack.s3.put_object(Bucket=INPUT_BUCKET, Key=key, Body=PNG)
    with h.as_function():
        code = backfill.main(["--bucket", INPUT_BUCKET, "--workers", "1", "--restart"])
    assert code == 0
    assert set(thumbnails_of(key)) <= set(h.stack.output_keys())


def read_a_batch_manifest(h: Harness, run: str) -> None:
    """What starting a job reads: the manifest's ETag (`aws s3api head-object`)."""
    from thumbnailer.storage import aws_client

    with h.as_function():
        aws_client("s3").head_object(Bucket=INVENTORY_BUCKET, Key=MANIFEST)


def operator_runs(shape: str) -> list[Path]:
    runs = [
        redrive_dry_run_then_replay,
        redrive_requeues_what_still_fails,
        backfill_the_prefix,
        redrive_replays_a_delete,  # SyncDeletes is on by default
    ]
    if shape == "sync-deletes-notifications":
        runs += [redrive_replays_the_failed_event_queue, read_a_batch_manifest]
    return runs


@pytest.fixture
def operator(
    harness: Harness, world: World, monkeypatch, tmp_path  # noqa: F811 - the fixtures
) -> Harness:
    """The tools' environment, as an operator's shell sets it; a clean DLQ; the inventory."""
    monkeypatch.chdir(tmp_path)  # ./out/logs and the backfill's checkpoint
    monkeypatch.setattr(redrive, "REQUEUE_DELAY_SECONDS", 0)
    monkeypatch.setattr(redrive, "WAIT_SECONDS", 0)
    if harness.shape == "sync-deletes-notifications":
        monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", world.topic_arn)
        monkeypatch.setenv("FAILED_EVENT_QUEUE_URL", world.stack.failed_event_queue_url)
        world.stack.s3.create_bucket(Bucket=INVENTORY_BUCKET)
        world.stack.s3.put_object(Bucket=INVENTORY_BUCKET, Key=MANIFEST, Body=b"{}")
    while world.stack.dead_letters():  # read (and hidden) for the rest of the module
        pass
    return harness


@pytest.mark.parametrize("shape", SHAPES)
def test_redrive_and_backfill_pass_under_the_operator_policy(operator: Harness) -> None:
    # GIVEN a role holding exactly the operator policy for this shape
    operator.grant(POLICIES[operator.shape], role="Operator")

    # WHEN the tools run under it, with IAM enforced
    failures = run_every_path(operator, operator_runs(operator.shape))

    # THEN each does its job and nothing is denied
    assert not failures, report(failures)


@pytest.mark.parametrize(("shape", "statement", "action"), list(necessity_cases(POLICIES)))
def test_every_operator_statement_is_needed_by_some_run(
    operator: Harness, statement: Statement, action: str | None
) -> None:
    sid = statement.body.get("Sid", "")
    for name in (sid, f"{sid}:{action}"):
        if name in NOT_EXERCISED:
            pytest.skip(f"{name}: not provable locally: {NOT_EXERCISED[name]}")
    # GIVEN the operator policy without that one statement (or that one action of it)
    operator.grant(execution_role.without(POLICIES[operator.shape], statement, action), "Operator")

    # WHEN the tools run under it
    failures = run_every_path(operator, operator_runs(operator.shape))

    # THEN some run is denied exactly what was taken away
    taken = [action] if action else statement.actions
    denied = {denial.action for failure in failures for denial in failure.denials}
    assert denied & set(taken), f"no run needs {taken} of {statement.name}:\n{report(failures)}"


def test_the_operator_template_is_cfn_lint_clean() -> None:
    # GIVEN the template WHEN cfn-lint checks it as `make lint` does THEN it finds nothing
    assert cfn_lint_findings(OPERATOR_TEMPLATE.read_text(encoding="utf-8")) == []


def test_the_policy_document_is_valid_json_for_iam() -> None:
    # GIVEN the resolved policy of the richest shape
    [policy] = POLICIES["sync-deletes-notifications"]

    # WHEN it is serialised as IAM receives it
    document = json.loads(json.dumps(policy["PolicyDocument"]))

    # THEN every statement has a Sid and only the Batch Operations job start is on "*"
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert len(sids) == len(set(sids))
    on_everything = [s["Sid"] for s in document["Statement"] if s["Resource"] == "*"]
    assert on_everything == ["StartBatchOperationsJobs"]

"""One local twin for the fault suite (moto over HTTP, S3's notifications, Lambda's retries),
its function hooked; every test writes its own faults to the shared plan and uses its own keys."""

from __future__ import annotations

import pytest

from scripts.local.pipeline import LocalPipeline
from scripts.ops import redrive
from tests.faults.harness import HANDLER, PARAMETERS
from tests.faults.injector import FaultPlan

#: Lambda's deadline in the twin: long enough for a set of small images on a busy machine, short
#: enough that a kill at the deadline costs little.
TIMEOUT_SECONDS = 8.0


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("faults") / "plan.json"
    with pytest.MonkeyPatch.context() as patch:
        # Inherited by the execution environments, which read their faults there.
        patch.setenv("FAULT_PLAN", str(path))
        yield FaultPlan(path)


@pytest.fixture(scope="module")
def twin(plan):
    with LocalPipeline(
        workers=2, parameters=PARAMETERS, timeout_seconds=TIMEOUT_SECONDS, handler=HANDLER
    ) as running:
        yield running


@pytest.fixture
def versioned(twin):
    """The input bucket keeping versions, as the template's does (VersioningConfiguration),
    for this test only: moto sends no notification for a delete marker (S3 does), so the other
    tests delete in an unversioned bucket."""
    bucket = twin.stack.input_bucket
    twin.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    yield
    twin.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})


@pytest.fixture(autouse=True)
def _clean_plan(plan, tmp_path, monkeypatch):
    plan.clear()
    monkeypatch.chdir(tmp_path)  # the tools' logs and checkpoints
    monkeypatch.setattr(redrive, "REQUEUE_DELAY_SECONDS", 0)
    monkeypatch.setattr(redrive, "WAIT_SECONDS", 0)
    yield
    plan.clear()

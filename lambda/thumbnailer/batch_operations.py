"""S3 Batch Operations (LambdaInvoke, schema 1.0 and 2.0): one result per task, never a raise.

The result codes follow the pipeline's failure semantics:

    thumbnails written, already up to date, superseded, skipped  -> Succeeded
    bad object (retrying cannot help)      -> PermanentFailure, result string "<reason>: ..."
    the world failed (retrying may help)   -> TemporaryFailure

A bad object gets no dead-letter record here: the job's completion report is its record, and a
job re-run over the same manifest would otherwise add a second record for the same object.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent

from thumbnailer.deadline import Deadline
from thumbnailer.models import Outcome, SourceObject, Status
from thumbnailer.observability import logger, metrics
from thumbnailer.processing import ThumbnailService

ResultCode = Literal["Succeeded", "TemporaryFailure", "PermanentFailure"]
# Keeps the completion report's result column readable.
MAX_RESULT_STRING = 512


def run_batch_tasks(
    event: S3BatchOperationEvent, service: ThumbnailService, deadline: Deadline
) -> dict[str, Any]:
    """The response S3 Batch Operations expects, with one result per task of the event; a task
    `deadline` does not let start is a TemporaryFailure (the job retries it)."""
    tasks = list(event.tasks)
    metrics.add_metric(name="ObjectsReceived", unit=MetricUnit.Count, value=len(tasks))
    results = []
    for task in tasks:
        source = SourceObject.from_batch_task(task)
        with logger.append_context_keys(
            object_key=source.key, batch_job_id=event.job.get_id, batch_task_id=task.task_id
        ):
            if deadline.may_start():
                code, text = _run_task(source, service)
            else:
                code, text = "TemporaryFailure", deadline.refusal()
        results.append(
            {"taskId": task.task_id, "resultCode": code, "resultString": text[:MAX_RESULT_STRING]}
        )
    return {
        "invocationSchemaVersion": event.invocation_schema_version,
        # A task left without a result (none should be) counts as failed, not as done.
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": event.invocation_id,
        "results": results,
    }


def _run_task(source: SourceObject, service: ThumbnailService) -> tuple[ResultCode, str]:
    try:
        outcome = service.process(source, report_bad_objects=False)
    except Exception as exc:  # noqa: BLE001 - a task's failure is its result, not the invocation's
        logger.exception("task failed; S3 Batch Operations will retry it")
        return "TemporaryFailure", f"{type(exc).__name__}: {exc}"
    if outcome.status is Status.REJECTED:
        logger.warning("bad object", reason=outcome.reason, error=outcome.message)
        return "PermanentFailure", f"{outcome.reason}: {outcome.message}"
    return "Succeeded", _describe(outcome)


def _describe(outcome: Outcome) -> str:
    if outcome.status is Status.WRITTEN:
        return f"written: {len(outcome.thumbnails)} thumbnails"
    return f"{outcome.status.value}: {outcome.reason}"

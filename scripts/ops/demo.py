"""`make ops-demo`: the day-2 tools, for real, on the local stand-in (no AWS account).

Starts the local twin of the stack (moto over HTTP, S3's own notifications, the real handler in
worker processes, SyncDeletes on) and walks through: replaying the dead-letter queue (both kinds
of message), a repeated and a stale event, a delete followed to the thumbnails, S3 Batch
Operations tasks (schema 1.0 and 2.0), and a backfill after ThumbnailSizes changed (stopped
with --limit, then resumed). `make redrive` and `make backfill` run as separate processes,
exactly as an operator runs them; their output is shown as it was printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image

from scripts.local.environment import LAMBDA_DIR
from scripts.local.invoker import Invocation
from scripts.local.pipeline import LocalPipeline
from scripts.local.server import REPO
from scripts.ops.common import FAILED_EVENT_QUEUE_ENV_VAR
from scripts.support.sample_images import encode, photo

OUT = REPO / "out" / "ops-demo"
PREFIX = "uploads/"
JPEG = encode(photo(1200, 800, seed=11), "JPEG", quality=88)
PORTRAIT = encode(photo(600, 900, seed=12), "JPEG", quality=88)


def tool_environment(pipeline: LocalPipeline, **overrides: str) -> dict[str, str]:
    """A shell configured like the deployed function, pointed at the local stand-in, with an
    operator's credentials."""
    env = {name: value for name, value in os.environ.items() if name != "STACK_NAME"}
    return {
        **env,
        **pipeline.stack.function_env,
        **pipeline.aws.environment,
        FAILED_EVENT_QUEUE_ENV_VAR: pipeline.stack.failed_event_queue_url,
        **pipeline.stack.operator_credentials,  # iac/operator-policy.yaml's, IAM enforced
        "PYTHONPATH": os.pathsep.join([str(LAMBDA_DIR), str(REPO)]),
        **overrides,
    }


def run_tool(
    pipeline: LocalPipeline, module: str, *args: str, cwd: Path, **env: str
) -> tuple[int, str]:
    """`python -m module args` in its own process; its exit code and everything it printed."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=tool_environment(pipeline, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def invocations_for(
    pipeline: LocalPipeline, key: str, event_prefix: str = "ObjectCreated:"
) -> list[Invocation]:
    return [
        invocation
        for invocation in list(pipeline.invocations)
        if key in invocation.keys
        and invocation.event["Records"][0]["eventName"].startswith(event_prefix)
    ]


def wait_for_next(
    pipeline: LocalPipeline,
    key: str,
    before: int,
    event_prefix: str = "ObjectCreated:",
    timeout_seconds: float = 60,
) -> Invocation:
    """The invocation after the first `before` ones for `key`, once S3's event was handled."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        handled = invocations_for(pipeline, key, event_prefix)
        if len(handled) > before:
            return handled[-1]
        time.sleep(0.1)
    raise TimeoutError(f"no {event_prefix} event handled for {key!r} in {timeout_seconds:.0f}s")


def upload_and_wait(pipeline: LocalPipeline, key: str, data: bytes) -> Invocation:
    before = len(invocations_for(pipeline, key))
    pipeline.upload(key, data)
    return wait_for_next(pipeline, key, before)


def batch_event(schema: str, bucket: str, key: str, task_id: str) -> dict[str, Any]:
    task: dict[str, Any] = {"taskId": task_id, "s3Key": key, "s3VersionId": None}
    if schema == "1.0":
        task["s3BucketArn"] = f"arn:aws:s3:::{bucket}"
    else:
        task["s3Bucket"] = bucket
    return {
        "invocationSchemaVersion": schema,
        "invocationId": f"demo-{task_id}",
        "job": {"id": "00000000-0000-4000-8000-00000000demo"},
        "tasks": [task],
    }


def show(title: str) -> None:
    print(f"\n== {title} ==")


def show_tool(command: str, code: int, output: str) -> None:
    print(f"$ {command}   (exit {code})")
    for line in output.rstrip().splitlines():
        print(f"  | {line}")


def outcome_of(invocation: Invocation) -> str:
    outcomes = (invocation.response or {}).get("outcomes", [])
    return ", ".join(
        f"{o['status']}" + (f": {o['reason']}" if o["reason"] else "") for o in outcomes
    ) or (invocation.error or "-")


def replay_the_dead_letter_queue(pipeline: LocalPipeline, cwd: Path) -> None:
    show("1. Replay the dead-letter queue (make redrive)")
    s3, stack = pipeline.s3, pipeline.stack
    # A failed event: the output bucket is missing, so Lambda's retries run out.
    s3.delete_bucket(Bucket=stack.output_bucket)
    lost = upload_and_wait(pipeline, PREFIX + "storm/while the bucket was gone.jpg", JPEG)
    s3.create_bucket(Bucket=stack.output_bucket)
    print(f"failed event: tried {lost.attempts} times, then dead-lettered: {lost.error[:70]}")
    # A function record: a broken upload.
    broken = upload_and_wait(pipeline, PREFIX + "broken/half.jpg", JPEG[:3000])
    print(f"function record: {outcome_of(broken)}")
    show_tool(
        "make redrive ARGS=--dry-run",
        *run_tool(pipeline, "scripts.ops.redrive", "--dry-run", cwd=cwd),
    )
    show_tool("make redrive", *run_tool(pipeline, "scripts.ops.redrive", cwd=cwd))
    for name, url in (
        ("dead-letter", stack.dlq_url),
        ("failed-event", stack.failed_event_queue_url),
    ):
        counts = pipeline.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        print(
            f"{name} queue now: {counts['ApproximateNumberOfMessages']} visible, "
            f"{counts['ApproximateNumberOfMessagesDelayed']} delayed re-queued (visible in 15 min)"
        )


def duplicates_and_stale_events(pipeline: LocalPipeline) -> None:
    show("2. A repeated delivery and a stale event")
    key = PREFIX + "dup/photo.jpg"
    first = upload_and_wait(pipeline, key, JPEG)
    print(f"upload:                 {outcome_of(first)}")
    print(f"same event again:       {outcome_of(pipeline.invoker.invoke(first.event))}")
    newer = upload_and_wait(pipeline, key, PORTRAIT)
    print(f"new version uploaded:   {outcome_of(newer)}")
    print(f"old event, late:        {outcome_of(pipeline.invoker.invoke(first.event))}")
    size = _thumbnail_size(pipeline, "dup/photo_512w.webp")
    print(f"dup/photo_512w.webp is still the new version's: {size[0]}x{size[1]}")


def _thumbnail_size(pipeline: LocalPipeline, key: str) -> tuple[int, int]:
    body = pipeline.s3.get_object(Bucket=pipeline.stack.output_bucket, Key=key)["Body"].read()
    return Image.open(BytesIO(body)).size


def deletes_follow(pipeline: LocalPipeline) -> None:
    show("3. SyncDeletes: deleting an original deletes its thumbnails")
    key = PREFIX + "dup/photo.jpg"
    pipeline.s3.delete_object(Bucket=pipeline.stack.input_bucket, Key=key)
    removed = wait_for_next(pipeline, key, 0, event_prefix="ObjectRemoved:")
    [outcome] = removed.response["outcomes"]
    print(f"{removed.event['Records'][0]['eventName']}: {outcome['status']} {outcome['deleted']}")
    left = [k for k, _ in pipeline.thumbnails() if k.startswith("dup/photo_")]
    print(f"thumbnails of dup/photo left: {left}")


def batch_operations(pipeline: LocalPipeline) -> None:
    show("4. S3 Batch Operations tasks (the function invoked as a job would)")
    stack = pipeline.stack
    good = PREFIX + "holiday/beach day.jpg"
    upload_and_wait(pipeline, good, JPEG)
    for width in (128, 512):  # thumbnails lost: the job must make them again
        pipeline.s3.delete_object(
            Bucket=stack.output_bucket, Key=f"holiday/beach day_{width}w.webp"
        )
    tasks = [
        ("1.0", "holiday/beach+day.jpg", "thumbnails lost"),
        ("2.0", "holiday/beach+day.jpg", "already done"),
        ("2.0", "broken/half.jpg", "a bad object"),
        ("1.0", "never/uploaded.jpg", "not there"),
    ]
    for number, (schema, key, what) in enumerate(tasks, start=1):
        event = batch_event(schema, stack.input_bucket, PREFIX + key, f"task-{number}")
        [result] = pipeline.invoker.invoke(event).response["results"]
        print(
            f"schema {schema}  {what:<16} {result['resultCode']:<17} {result['resultString'][:60]}"
        )


def backfill_after_new_sizes(pipeline: LocalPipeline, cwd: Path) -> None:
    show("5. Backfill after ThumbnailSizes changed to 128,256,512 (make backfill)")
    for name in ("a", "b", "c"):
        upload_and_wait(pipeline, f"{PREFIX}gallery/{name}.jpg", JPEG)
    bucket = ("--bucket", pipeline.stack.input_bucket)
    sizes = {"THUMB_SIZES": "128,256,512"}
    show_tool(
        "make backfill ARGS='--limit 3'  (stops early; a re-run resumes)",
        *run_tool(
            pipeline, "scripts.ops.backfill", *bucket, "--limit", "3", "--restart", cwd=cwd, **sizes
        ),
    )
    show_tool(
        "make backfill", *run_tool(pipeline, "scripts.ops.backfill", *bucket, cwd=cwd, **sizes)
    )
    show_tool(
        "make backfill   (again)",
        *run_tool(pipeline, "scripts.ops.backfill", *bucket, cwd=cwd, **sizes),
    )


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with LocalPipeline(
        workers=2, log_dir=OUT / "logs", parameters={"SyncDeletes": "true"}
    ) as pipeline:
        print(f"local AWS (moto) on {pipeline.aws.endpoint}; SyncDeletes on")
        replay_the_dead_letter_queue(pipeline, REPO)
        duplicates_and_stale_events(pipeline)
        deletes_follow(pipeline)
        batch_operations(pipeline)
        backfill_after_new_sizes(pipeline, REPO)
    print(f"\nThe function's logs: {OUT}/logs/function.jsonl; the tools': out/logs/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

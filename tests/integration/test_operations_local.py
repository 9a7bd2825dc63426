"""The day-2 tools for real against the local stand-in: moto over HTTP, S3's own notifications,
the real handler in worker processes, the scripts in processes of their own."""

import pytest

from scripts.local.pipeline import LocalPipeline
from scripts.ops.demo import (
    JPEG,
    batch_event,
    run_tool,
    upload_and_wait,
    wait_for_next,
)


@pytest.fixture(scope="module")
def pipeline():
    with LocalPipeline(workers=2, parameters={"SyncDeletes": "true"}) as running:
        yield running


def test_redrive_replays_a_failed_event_and_keeps_the_bad_object(pipeline, tmp_path):
    # GIVEN an event Lambda gave up on (output bucket missing) and a broken upload's record
    stack = pipeline.stack
    # (first in this module: the output bucket is still empty, so it can be deleted)
    pipeline.s3.delete_bucket(Bucket=stack.output_bucket)
    lost = upload_and_wait(pipeline, "uploads/redrive/lost.jpg", JPEG)
    pipeline.s3.create_bucket(Bucket=stack.output_bucket)
    broken = upload_and_wait(pipeline, "uploads/redrive/broken.jpg", JPEG[:2000])
    assert lost.dead_lettered
    assert broken.response["outcomes"][0]["status"] == "rejected"

    # WHEN `make redrive` runs, first as a dry run
    dry_code, dry = run_tool(pipeline, "scripts.ops.redrive", "--dry-run", cwd=tmp_path)
    code, out = run_tool(pipeline, "scripts.ops.redrive", cwd=tmp_path)

    # THEN the dry run listed both kinds, and the real run replayed one and kept one
    assert (dry_code, code) == (0, 0), dry + out
    assert "(failed event: TransientError" in dry
    assert "(function record: truncated_image)" in dry
    assert "replayed       s3://sip-local-input/uploads/redrive/lost.jpg  (written)" in out
    assert "still failing  s3://sip-local-input/uploads/redrive/broken.jpg  (truncated_image" in out
    assert "replayed: 1   still failing: 1   skipped: 0" in out
    thumbnails = {key for key, _ in pipeline.thumbnails()}
    assert {"redrive/lost_128w.webp", "redrive/lost_512w.webp"} <= thumbnails


def test_backfill_makes_what_new_settings_need_and_resumes(pipeline, tmp_path):
    # GIVEN uploads thumbnailed at 128,512, then ThumbnailSizes changed to 128,256,512
    for name in ("a", "b", "c"):
        upload_and_wait(pipeline, f"uploads/gallery/{name}.jpg", JPEG)
    args = ("--bucket", pipeline.stack.input_bucket, "--restart")
    sizes = {"THUMB_SIZES": "128,256,512"}

    # WHEN `make backfill` runs twice, the first time stopping after two objects
    first_code, first = run_tool(
        pipeline, "scripts.ops.backfill", *args, "--limit", "2", cwd=tmp_path, **sizes
    )
    code, out = run_tool(
        pipeline,
        "scripts.ops.backfill",
        "--bucket",
        pipeline.stack.input_bucket,
        cwd=tmp_path,
        **sizes,
    )

    # THEN the second run resumed after the first one's checkpoint and finished the prefix
    assert first_code == 0, first
    assert "checkpoint kept" in first
    assert "resuming after" in out
    assert code == 0, out
    thumbnails = {key for key, _ in pipeline.thumbnails()}
    assert {f"gallery/{name}_256w.webp" for name in "abc"} <= thumbnails


def test_a_deleted_original_takes_its_thumbnails_along(pipeline):
    # GIVEN a thumbnailed upload, with SyncDeletes on
    key = "uploads/deletes/photo.jpg"
    upload_and_wait(pipeline, key, JPEG)
    # WHEN it is deleted: S3's ObjectRemoved notification reaches the function
    pipeline.s3.delete_object(Bucket=pipeline.stack.input_bucket, Key=key)
    removed = wait_for_next(pipeline, key, 0, event_prefix="ObjectRemoved:")
    # THEN its thumbnails are gone
    [outcome] = removed.response["outcomes"]
    assert outcome["status"] == "deleted"
    assert not [k for k, _ in pipeline.thumbnails() if k.startswith("deletes/photo_")]


def test_a_repeated_event_does_no_work_twice(pipeline):
    first = upload_and_wait(pipeline, "uploads/dup/photo.jpg", JPEG)
    again = pipeline.invoker.invoke(first.event)
    assert again.response["outcomes"][0] == {
        "key": "uploads/dup/photo.jpg",
        "status": "ignored",
        "reason": "up_to_date",
        "thumbnails": {},
    }


@pytest.mark.parametrize("schema", ["1.0", "2.0"])
def test_batch_operations_tasks_get_result_codes(pipeline, schema):
    # GIVEN a good upload and a broken one
    upload_and_wait(pipeline, f"uploads/batch{schema}/ok.jpg", JPEG)
    upload_and_wait(pipeline, f"uploads/batch{schema}/bad.jpg", JPEG[:1500])
    bucket = pipeline.stack.input_bucket
    # WHEN Batch Operations invokes the function for each
    codes = {
        name: pipeline.invoker.invoke(
            batch_event(schema, bucket, f"uploads/batch{schema}/{name}.jpg", name)
        ).response["results"][0]["resultCode"]
        for name in ("ok", "bad")
    }
    # THEN the good one succeeded and the bad one failed for good
    assert codes == {"ok": "Succeeded", "bad": "PermanentFailure"}

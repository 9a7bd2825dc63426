"""Interleavings and faults between the function's S3 calls (moto in-process; issue 18): each
must end with the current picture published and nothing else."""

from __future__ import annotations

import json

import pytest

from scripts.support.sample_images import animation, encode, photo
from tests.integration.test_duplicates_and_deletes import removed
from tests.integration.test_handler_renditions import service_for, source_of
from thumbnailer.errors import TransientError
from thumbnailer.models import REMAKE_EVENT, Status
from thumbnailer.storage import ObjectStore

KEY = "uploads/shop/bag.jpg"
V1 = encode(photo(1200, 600, seed=1), "JPEG")  # 2:1
V2 = encode(photo(600, 1200, seed=2), "JPEG")  # 1:2
SET = {"output_formats": ("webp", "avif"), "crop_sizes": ((64, 64),), "write_manifest": True}


def on_call(monkeypatch, method: str, n: int, action) -> None:
    """Run `action()` just after the `n`th call of `ObjectStore.<method>` returns."""
    real = getattr(ObjectStore, method)
    calls = [0]

    def wrapped(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        calls[0] += 1
        if calls[0] == n:
            action()
        return result

    monkeypatch.setattr(ObjectStore, method, wrapped)


def etags_of_outputs(stack) -> dict[str, str]:
    return {
        key: stack.s3.head_object(Bucket=stack.output_bucket, Key=key)["Metadata"]["source-etag"]
        for key in stack.output_keys()
    }


def manifest(stack) -> dict:
    body = stack.s3.get_object(Bucket=stack.output_bucket, Key="shop/bag.json")["Body"].read()
    return json.loads(body)


def delete_source(stack, service, record):
    def action():
        stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
        service.process(source_of(removed(record, "0066A1B2C3D4E5F7FF")))

    return action


@pytest.mark.parametrize("writes_before_delete", [0, 3])
def test_a_delete_handled_while_the_create_writes_leaves_nothing(
    stack, monkeypatch, writes_before_delete
):
    # GIVEN an upload whose create has read the source (and made 0 or 3 of its writes)
    service = service_for(stack, **SET)
    record = stack.upload(KEY, V1)
    if writes_before_delete:
        on_call(monkeypatch, "write", writes_before_delete, delete_source(stack, service, record))
    else:
        on_call(monkeypatch, "read", 1, delete_source(stack, service, record))
    # WHEN the source is deleted and its delete handled meanwhile, then the create goes on
    outcome = service.process(source_of(record))
    # THEN the create sees its source gone after writing and removes what it wrote: no orphan,
    # no manifest listing a missing file
    assert (outcome.status, outcome.reason) == (Status.SKIPPED, "object_missing")
    assert stack.output_keys() == []


def test_two_versions_interleaved_end_with_the_current_version_everywhere(stack, monkeypatch):
    # GIVEN v1's create, which has read v1 and written its first file
    service = service_for(stack, **SET)
    first = stack.upload(KEY, V1)
    v2 = {}

    def upload_and_process_v2():
        v2["record"] = stack.upload(KEY, V2)
        service.process(source_of(v2["record"]))

    on_call(monkeypatch, "write", 1, upload_and_process_v2)
    # WHEN v2 is uploaded and wholly processed in between, and v1's writes then go on
    service.process(source_of(first))
    # THEN every file and the manifest are v2's
    v2_etag = v2["record"]["s3"]["object"]["eTag"]
    assert set(etags_of_outputs(stack).values()) == {v2_etag}
    assert manifest(stack)["source"]["etag"] == v2_etag
    assert manifest(stack)["source"]["height"] == 1200


def test_an_overwrite_that_fails_partway_leaves_no_manifest_of_other_files(stack, monkeypatch):
    # GIVEN v1's complete set (2:1), and S3 failing the overwrite's second PutObject once
    service = service_for(stack, **SET)
    service.process(source_of(stack.upload(KEY, V1)))
    second = stack.upload(KEY, V2)  # 1:2
    real_write, calls = ObjectStore.write, [0]

    def slow_down_once(self, bucket, key, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:
            raise TransientError("SlowDown")
        return real_write(self, bucket, key, *args, **kwargs)

    monkeypatch.setattr(ObjectStore, "write", slow_down_once)
    # WHEN v2's create fails partway
    with pytest.raises(TransientError):
        service.process(source_of(second))
    # THEN no manifest describes v1 over v2's first file: there is none until the retry
    assert "shop/bag.json" not in stack.output_keys()
    assert len(set(etags_of_outputs(stack).values())) == 2
    # WHEN Lambda retries / THEN the manifest and every file are v2's
    assert service.process(source_of(second)).status is Status.WRITTEN
    v2_etag = second["s3"]["object"]["eTag"]
    assert set(etags_of_outputs(stack).values()) == {v2_etag}
    assert manifest(stack)["source"]["height"] == 1200


def test_permanently_deleting_the_current_version_republishes_the_older_one(stack):
    # GIVEN a versioned bucket whose key had v1, then v2, each processed
    stack.s3.put_bucket_versioning(
        Bucket=stack.input_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    service = service_for(stack, **SET)
    first = stack.upload(KEY, V1)
    service.process(source_of(first))
    second = stack.upload(KEY, V2)
    service.process(source_of(second))
    v2_version = stack.s3.head_object(Bucket=stack.input_bucket, Key=KEY)["VersionId"]
    # WHEN v2 is erased by its version id (v1 is current again) and its event arrives
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY, VersionId=v2_version)
    event = removed(second, "0066A1B2C3D4E5F7FF")
    event["s3"]["object"]["versionId"] = v2_version
    outcome = service.process(source_of(event))
    # THEN the outputs are remade from v1: nothing of the erased version stays public
    assert outcome.status is Status.WRITTEN
    v1_etag = first["s3"]["object"]["eTag"]
    assert set(etags_of_outputs(stack).values()) == {v1_etag}
    assert manifest(stack)["source"]["height"] == 600


def test_a_delete_that_fails_partway_is_finished_by_its_retry(stack, monkeypatch):
    # GIVEN a complete set with a 64x64 crop, a function since configured without crops, and
    # S3 answering SlowDown to the second DeleteObject (the first removed the manifest)
    record = stack.upload(KEY, V1)
    service_for(stack, **SET).process(source_of(record))
    service = service_for(stack, output_formats=("webp", "avif"), write_manifest=True)
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    real_delete, calls = ObjectStore.delete, [0]

    def slow_down_once(self, bucket, key):
        calls[0] += 1
        if calls[0] == 2:
            raise TransientError(f"S3 DeleteObject s3://{bucket}/{key} failed: SlowDown")
        return real_delete(self, bucket, key)

    monkeypatch.setattr(ObjectStore, "delete", slow_down_once)
    delete_event = source_of(removed(record, "0066A1B2C3D4E5F7FF"))
    # WHEN the delete fails partway (the manifest already gone), and Lambda retries it
    with pytest.raises(TransientError):
        service.process(delete_event)
    outcome = service.process(delete_event)
    # THEN the retry finds the rest by listing: nothing is left
    assert outcome.status is Status.DELETED
    assert stack.output_keys() == []


def test_deleting_photo_keeps_the_outputs_of_photo_underscore_2(stack):
    # GIVEN bag.jpg and bag_2.jpg, both processed (bag_ begins both names' outputs)
    service = service_for(stack, **SET)
    record = stack.upload(KEY, V1)
    service.process(source_of(record))
    service.process(source_of(stack.upload("uploads/shop/bag_2.jpg", V2)))
    # WHEN bag.jpg is deleted
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    service.process(source_of(removed(record, "0066A1B2C3D4E5F7FF")))
    # THEN only bag_2's outputs remain
    assert len(stack.output_keys()) == 7
    assert all(key.startswith("shop/bag_2") for key in stack.output_keys())


def test_a_still_replaced_by_an_animation_leaves_no_still_rendition(stack):
    # GIVEN a still processed into WebP and AVIF
    service = service_for(stack, **SET)
    service.process(source_of(stack.upload(KEY, V1)))
    # WHEN the key is overwritten with an animation (which gets WebP only)
    frames = [photo(300, 200, seed=seed) for seed in range(3)]
    gif = animation(frames, "GIF", durations=[80] * 3, loop=0)
    service.process(source_of(stack.upload(KEY, gif)))
    # THEN no AVIF of the still remains: every output is listed in the manifest, or is it
    listed = {item["key"] for item in manifest(stack)["renditions"]}
    assert set(stack.output_keys()) == listed | {"shop/bag.json"}


def test_a_remake_event_makes_an_up_to_date_set_again(stack, reads):
    # GIVEN a set that is up to date
    service = service_for(stack)
    record = stack.upload(KEY, V1)
    service.process(source_of(record))
    # WHEN the same object comes as ObjectCreated:Remake (docs/operations.md, "Forcing a remake")
    record["eventName"] = REMAKE_EVENT
    outcome = service.process(source_of(record))
    # THEN it is read and written again instead of being skipped as up to date
    assert outcome.status is Status.WRITTEN
    assert reads == [KEY, KEY]


def test_an_animation_replaced_by_a_still_under_avif_only_leaves_no_moving_webp(stack):
    # GIVEN AVIF only, and an animation processed (animations get WebP whatever is configured)
    service = service_for(stack, output_formats=("avif",), write_manifest=True)
    frames = [photo(300, 200, seed=seed) for seed in range(3)]
    service.process(source_of(stack.upload(KEY, animation(frames, "GIF", durations=[80] * 3))))
    # WHEN the key is overwritten with a still (which gets AVIF only)
    service.process(source_of(stack.upload(KEY, V1)))
    # THEN only the still's AVIF set and its manifest remain
    assert stack.output_keys() == ["shop/bag.json", "shop/bag_128w.avif", "shop/bag_512w.avif"]


def test_erasing_the_current_version_over_a_bad_older_one_deletes_the_set(stack):
    # GIVEN a versioned key whose v1 is not an image (reported once) and whose v2 made a set
    stack.s3.put_bucket_versioning(
        Bucket=stack.input_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    service = service_for(stack)
    service.process(source_of(stack.upload(KEY, b"not an image")))
    second = stack.upload(KEY, V2)
    service.process(source_of(second))
    v2_version = stack.s3.head_object(Bucket=stack.input_bucket, Key=KEY)["VersionId"]
    # WHEN v2 is erased by its version id and its event arrives
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY, VersionId=v2_version)
    outcome = service.process(source_of(removed(second, "0066A1B2C3D4E5F7FF")))
    # THEN v2's set is deleted, and the bad v1 gets no second DLQ record
    assert outcome.status is Status.DELETED
    assert stack.output_keys() == []
    assert len(stack.dead_letters()) == 1

"""`make faults`: faults at the S3/SQS/SNS boundary of the local twin, and events interleaved by
hand. After each, with Lambda's retries and, where the run ends in a queue, a redrive: every
live source has exactly its complete current set and manifest, or exactly one dead letter; no
output is left for a deleted source; no manifest lists a missing file; no queue lost a message
it did not finish (docs/behaviour.md, Faults and races)."""

from __future__ import annotations

import pytest

from scripts.ops import backfill, redrive
from scripts.support.sample_images import animation, encode, moving_box_frames, photo
from tests.faults.harness import (
    Expectations,
    dead_letters_under,
    describe,
    hooked_tools,
    notify_version_deleted,
    queue_depth,
    wait_for_events,
    wait_for_fired,
)
from tests.faults.injector import Fault

STILL = encode(photo(240, 160, seed=1), "JPEG")
OTHER_STILL = encode(photo(160, 240, seed=2), "JPEG")
MOVING = animation(moving_box_frames(3, (120, 90)), "GIF", durations=[80, 80, 80])
CORRUPT = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def source(name: str) -> tuple[str, str]:
    """A scenario's source key and the prefix its outputs land under."""
    return f"uploads/faults/{name}/pic.jpg", f"faults/{name}/"


def holds(twin, live, output_prefix, input_prefix):
    dead = dead_letters_under(twin, input_prefix)
    verdict = Expectations(twin).verdict(live, output_prefix, dead)
    assert verdict.holds, describe(verdict)
    return verdict, dead


# --- one invocation fails; Lambda's retry finishes ------------------------------------------


@pytest.mark.parametrize("kind", ["slowdown", "timeout"])
@pytest.mark.parametrize("operation", ["HeadObject", "GetObject", "PutObject"])
def test_a_failed_call_on_the_create_path_is_finished_by_lambdas_retry(twin, plan, operation, kind):
    # GIVEN one call fails, on every attempt botocore makes
    key, out = source(f"create-{operation}-{kind}")
    plan.set(Fault(operation, kind, match="faults/create-"))
    # WHEN an image is uploaded
    twin.upload(key, STILL)
    [event] = wait_for_events(twin, key, 1)
    # THEN the fault fired, the invocation failed and Lambda's retry made the whole set
    assert plan.faults()[0].fired == 1
    assert (event.attempts, event.dead_lettered) == (2, False)
    holds(twin, {key: False}, out, key)


@pytest.mark.parametrize("kind", ["slowdown", "timeout"])
def test_a_failed_dlq_send_for_a_bad_object_still_leaves_exactly_one_record(twin, plan, kind):
    # GIVEN the DLQ send fails on every attempt of one call
    key, out = source(f"bad-send-{kind}")
    plan.set(Fault("SendMessage", kind))
    # WHEN a corrupt image is uploaded
    twin.upload(key, CORRUPT)
    [event] = wait_for_events(twin, key, 1)
    # THEN the retry reported it: one record, no output
    assert event.attempts == 2
    _, dead = holds(twin, {key: False}, out, key)
    assert [body["reason"] for body in dead] == ["corrupt_image"]


@pytest.mark.parametrize("kind", ["slowdown", "timeout"])
@pytest.mark.parametrize(
    ("operation", "skip"),
    [("HeadObject", 0), ("ListObjectsV2", 0), ("DeleteObject", 1)],
    ids=["source-check", "listing", "second-delete"],
)
def test_a_delete_that_fails_partway_is_finished_by_lambdas_retry(
    twin, plan, operation, skip, kind
):
    # GIVEN a complete set, and one call of its delete failing (the source's HeadObject, the
    # listing of the name's outputs, or the second DeleteObject)
    key, out = source(f"delete-{operation}-{kind}")
    twin.upload(key, STILL)
    wait_for_events(twin, key, 1)
    # (no "/" in the match: a listing carries the prefix URL-encoded in its query)
    plan.set(Fault(operation, kind, match=f"delete-{operation}-{kind}", skip=skip))
    # WHEN the source is deleted
    twin.s3.delete_object(Bucket=twin.stack.input_bucket, Key=key)
    [_, event] = wait_for_events(twin, key, 2)
    # THEN the fault fired, and the retry left nothing of the set
    assert (plan.faults()[0].fired, event.attempts) == (1, 2)
    holds(twin, {}, out, key)


#: A call that succeeds but whose response is lost: (operation, the key it names, the upload).
LOST_RESPONSES = {
    "rendition": ("PutObject", "pic_64w.webp", STILL),
    "manifest": ("PutObject", "pic.json", STILL),
    "dlq-send": ("SendMessage", "", CORRUPT),  # a bad object's record (item 10)
}


@pytest.mark.parametrize("which", list(LOST_RESPONSES))
def test_a_response_lost_after_a_successful_call_is_finished_by_lambdas_retry(twin, plan, which):
    # GIVEN one PutObject (a rendition's, the manifest's) or the DLQ's SendMessage succeeds,
    # but its response is lost
    operation, target, upload = LOST_RESPONSES[which]
    key, out = source(f"lost-{which}")
    match = f"lost-{which}/{target}" if target else ""
    plan.set(Fault(operation, "lost_response", match=match, times=1))
    # WHEN the image (or a corrupt one) is uploaded
    twin.upload(key, upload)
    [event] = wait_for_events(twin, key, 1)
    # THEN the retry left exactly the complete set, or exactly one dead-letter record
    assert (plan.faults()[0].fired, event.attempts) == (1, 2)
    holds(twin, {key: False}, out, key)


def test_a_lost_response_of_a_delete_is_finished_by_lambdas_retry(twin, plan):
    # GIVEN a complete set, and a DeleteObject of its delete whose response is lost
    key, out = source("lost-delete")
    twin.upload(key, STILL)
    wait_for_events(twin, key, 1)
    plan.set(Fault("DeleteObject", "lost_response", match=out, skip=1))
    # WHEN the source is deleted
    twin.s3.delete_object(Bucket=twin.stack.input_bucket, Key=key)
    [_, event] = wait_for_events(twin, key, 2)
    # THEN the retry left nothing of the set
    assert (plan.faults()[0].fired, event.attempts) == (1, 2)
    holds(twin, {}, out, key)


def test_a_kill_at_the_deadline_is_finished_by_lambdas_retry(twin, plan):
    # GIVEN the third PutObject never returns: Lambda kills the environment at its deadline
    key, out = source("kill")
    plan.set(Fault("PutObject", "hang", match="faults/kill/", skip=2, times=1))
    # WHEN an image is uploaded
    twin.upload(key, STILL)
    [event] = wait_for_events(twin, key, 1)
    # THEN the retry, in a new environment, finished the set
    assert event.attempts == 2
    holds(twin, {key: False}, out, key)


# --- every invocation fails: the failed-event queue, then a redrive --------------------------


def failed_every_retry(twin, plan, name: str, operation: str) -> tuple[str, str]:
    """An upload whose `operation` S3 failed on every attempt of every invocation: Lambda gave
    up, and its event is in the failed-event queue. The fault stays planned."""
    key, out = source(name)
    plan.set(Fault(operation, "slowdown", match=f"{name}/", times=10**6))
    twin.upload(key, STILL)
    [event] = wait_for_events(twin, key, 1)
    assert event.dead_lettered
    assert queue_depth(twin, twin.stack.failed_event_queue_url) == 1
    return key, out


@pytest.mark.parametrize("operation", ["PutObject", "HeadObject"])
def test_an_event_that_fails_every_retry_is_finished_by_a_redrive(
    twin, plan, monkeypatch, operation
):
    # GIVEN S3 answers SlowDown to every attempt of every invocation
    key, out = failed_every_retry(twin, plan, f"persistent-{operation}", operation)

    # WHEN S3 is well again and the queues are replayed
    plan.clear()
    with hooked_tools(twin, plan, monkeypatch):
        assert redrive.main(["--max-messages", "50"]) == 0

    # THEN the set is complete and the failed-event queue is empty (its alarm clears)
    assert queue_depth(twin, twin.stack.failed_event_queue_url) == 0
    holds(twin, {key: False}, out, key)


@pytest.mark.parametrize(
    "operation", ["ReceiveMessage", "DeleteMessage", "SendMessage", "GetObject"]
)
def test_a_redrive_that_fails_keeps_the_message_and_the_next_one_finishes(
    twin, plan, monkeypatch, operation
):
    # GIVEN an event in the failed-event queue (S3 failed every retry)
    key, out = failed_every_retry(twin, plan, f"redrive-{operation}", "PutObject")
    # WHEN the redrive's own calls fail (S3 still failing, for its re-queue to be needed)
    plan.set(
        Fault(operation, "timeout", times=10**6),
        Fault("PutObject", "slowdown", match=f"redrive-{operation}/", times=10**6),
    )
    with hooked_tools(twin, plan, monkeypatch):
        redrive.main(["--max-messages", "50"])
    # THEN no message was lost: the event, or its fresh record, is still in the failed-event
    # queue (both, if the old message could not be deleted: the next run merges them)
    assert queue_depth(twin, twin.stack.failed_event_queue_url) >= 1
    assert queue_depth(twin, twin.stack.dlq_url) == 0

    # WHEN everything is well again and the redrive runs again
    plan.clear()
    with hooked_tools(twin, plan, monkeypatch):
        assert redrive.main(["--max-messages", "50"]) == 0
    # THEN it is done, once
    assert queue_depth(twin, twin.stack.failed_event_queue_url) == 0
    holds(twin, {key: False}, out, key)


@pytest.mark.parametrize(
    ("operation", "kind"),
    [("ListObjectsV2", "slowdown"), ("HeadObject", "timeout"), ("PutObject", "timeout")],
)
def test_a_backfill_that_fails_is_finished_by_the_next_run(
    twin, plan, monkeypatch, operation, kind
):
    # GIVEN an object whose set is gone (made before the stack, say) and a backfill whose
    # listing, checks or writes fail
    key, out = source(f"backfill-{operation}")
    twin.upload(key, STILL)
    wait_for_events(twin, key, 1)
    for item in twin.s3.list_objects_v2(Bucket=twin.stack.output_bucket, Prefix=out)["Contents"]:
        twin.s3.delete_object(Bucket=twin.stack.output_bucket, Key=item["Key"])
    match = "" if operation == "ListObjectsV2" else out
    plan.set(Fault(operation, kind, match=match, times=10**6))
    bucket = ["--bucket", twin.stack.input_bucket, "--workers", "1"]
    with hooked_tools(twin, plan, monkeypatch):
        assert backfill.main(bucket) == 1  # WHEN it fails
        plan.clear()
        assert backfill.main(bucket) == 0  # AND runs again
    # THEN the set is complete
    holds(twin, {key: False}, out, key)


# --- interleavings ---------------------------------------------------------------------------


@pytest.mark.parametrize("written", [0, 3], ids=["before-any-write", "after-3-writes"])
def test_a_delete_handled_while_the_create_is_between_read_and_write(twin, plan, written):
    # GIVEN a create held before its first write, or after its third
    key, out = source(f"create-delete-{written}")
    plan.set(Fault("PutObject", "hold", match=out, skip=written))
    twin.upload(key, STILL)
    wait_for_fired(plan)
    # WHEN the source is deleted and its delete handled, then the create goes on
    twin.s3.delete_object(Bucket=twin.stack.input_bucket, Key=key)
    wait_for_events(twin, key, 1)
    plan.release()
    wait_for_events(twin, key, 2)
    # THEN no output of the deleted source is left
    holds(twin, {}, out, key)


def test_two_versions_interleaved_leave_the_current_ones_set(twin, plan, versioned):
    # GIVEN version 1's create held at its first write
    key, out = source("two-versions")
    plan.set(Fault("PutObject", "hold", match="faults/two-versions/", times=1))
    twin.upload(key, STILL)
    wait_for_fired(plan)
    # WHEN version 2 is uploaded and handled, then version 1's create goes on
    twin.upload(key, OTHER_STILL)
    wait_for_events(twin, key, 1)
    plan.release()
    wait_for_events(twin, key, 2)
    # THEN the set is version 2's, every file of it
    holds(twin, {key: False}, out, key)


def test_an_overwrite_held_partway_shows_no_manifest_of_the_old_picture(twin, plan):
    # GIVEN a landscape still's set and manifest
    key, out = source("overwrite")
    twin.upload(key, STILL)
    wait_for_events(twin, key, 1)
    # WHEN a portrait replaces it, and its create is held after its first write
    plan.set(Fault("PutObject", "hold", match=out, skip=1, times=1))
    twin.upload(key, OTHER_STILL)
    wait_for_fired(plan)
    # THEN meanwhile there is no manifest, rather than the landscape's over a portrait's file
    listing = twin.s3.list_objects_v2(Bucket=twin.stack.output_bucket, Prefix=out)["Contents"]
    assert f"{out}pic.json" not in [item["Key"] for item in listing]
    # AND once it goes on, the set and manifest are the portrait's
    plan.release()
    wait_for_events(twin, key, 2)
    holds(twin, {key: False}, out, key)


@pytest.mark.parametrize("deleted", ["non-current", "current"])
def test_deleting_one_version_leaves_the_set_of_the_current_one(twin, plan, versioned, deleted):
    # GIVEN two versions, each handled
    key, out = source(f"delete-{deleted}-version")
    twin.upload(key, STILL)
    wait_for_events(twin, key, 1)
    twin.upload(key, OTHER_STILL)
    wait_for_events(twin, key, 2)
    [newer, older] = versions(twin, key)
    # WHEN one version is deleted for good
    version = older if deleted == "non-current" else newer
    twin.s3.delete_object(Bucket=twin.stack.input_bucket, Key=key, VersionId=version["VersionId"])
    notify_version_deleted(twin, key, version["VersionId"])
    wait_for_events(twin, key, 3)
    # THEN the set is the current version's (version 1's again, if version 2 was deleted)
    holds(twin, {key: False}, out, key)


def test_a_still_overwritten_by_an_animation_leaves_only_the_animations_set(twin, plan):
    # GIVEN a still's set (WebP and AVIF)
    key, out = source("still-animation")
    twin.upload(key, STILL)
    wait_for_events(twin, key, 1)
    # WHEN an animation replaces it
    twin.upload(key, MOVING)
    wait_for_events(twin, key, 2)
    # THEN only the animation's set is there (no AVIF: the still's would show first)
    holds(twin, {key: True}, out, key)


def versions(twin, key):
    """The key's versions, newest first."""
    listing = twin.s3.list_object_versions(Bucket=twin.stack.input_bucket, Prefix=key)
    return [v for v in listing.get("Versions", []) if v["Key"] == key]

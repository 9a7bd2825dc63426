"""The local twin over real HTTP: moto's server, S3's own notifications, the real handler."""

import pytest

from scripts.local import execution_role
from scripts.local.pipeline import LocalPipeline
from scripts.support.sample_images import encode, photo


@pytest.fixture(scope="module")
def pipeline():
    with LocalPipeline(workers=2) as running:
        yield running


def test_s3_notifications_drive_the_handler_end_to_end(pipeline):
    # GIVEN the running local stack / WHEN a good and a broken image are uploaded
    pipeline.upload("uploads/http/ok photo.jpg", encode(photo(900, 600), "JPEG"))
    pipeline.upload("uploads/http/broken.png", b"\x89PNG\r\n\x1a\nnope")
    done = pipeline.wait_for(["uploads/http/ok photo.jpg", "uploads/http/broken.png"], 60)

    # THEN S3's own events reached the handler, and each upload ended in exactly one place
    assert done["uploads/http/ok photo.jpg"].response["outcomes"][0]["status"] == "written"
    thumbnails = dict(pipeline.thumbnails())
    assert {"http/ok photo_128w.webp", "http/ok photo_512w.webp"} <= set(thumbnails)
    dead = [d for d in pipeline.dead_letters() if d.get("key", "").startswith("uploads/http/")]
    assert [(d["key"], d["reason"]) for d in dead] == [("uploads/http/broken.png", "corrupt_image")]


def test_s3_sent_its_test_event_and_the_handler_ignored_it(pipeline):
    # GIVEN S3 sends s3:TestEvent when the notification is configured
    test_events = [i for i in pipeline.invocations if i.event.get("Event") == "s3:TestEvent"]
    # THEN it was delivered untouched and handled without error
    assert len(test_events) == 1
    assert test_events[0].response == {"outcomes": []}
    assert test_events[0].event["Bucket"] == pipeline.stack.input_bucket


def test_uploads_outside_the_prefix_never_reach_the_function(pipeline):
    # GIVEN an upload outside the input prefix, then one inside it
    pipeline.upload("elsewhere/photo.jpg", encode(photo(300, 200), "JPEG"))
    pipeline.upload("uploads/marker.jpg", encode(photo(300, 200), "JPEG"))
    pipeline.wait_for(["uploads/marker.jpg"], 60)
    # THEN S3's prefix filter kept the first from the function
    assert all("elsewhere/photo.jpg" not in i.keys for i in pipeline.invocations)


def test_a_failing_function_is_retried_then_its_event_goes_to_the_dlq():
    # GIVEN a function pointed at an output bucket that its role does not cover (every attempt
    # is denied, transiently as far as the function can tell)
    with LocalPipeline(workers=1, overrides={"OUTPUT_BUCKET": "missing-bucket"}) as failing:
        failing.upload("uploads/retry.jpg", encode(photo(300, 200), "JPEG"))
        # WHEN the event is handled
        invocation = failing.wait_for(["uploads/retry.jpg"], 60)["uploads/retry.jpg"]
        # THEN it was tried three times (Lambda's two retries), then dead-lettered as-is
        assert invocation.attempts == 3
        assert invocation.dead_lettered
        # (HeadObject answers a bare 403: a HEAD response has no body to say more)
        assert "S3 HeadObject s3://missing-bucket/retry_512w.webp failed: 403" in invocation.error
        [dead] = failing.dead_letters()
        assert dead == invocation.event


def test_a_crashing_or_hanging_function_costs_only_its_execution_environment():
    # GIVEN a function that segfaults, exits or hangs on some keys, and is itself otherwise
    misbehaving = "tests.integration.misbehaving_function:lambda_handler"
    with LocalPipeline(workers=3, timeout_seconds=1.5, handler=misbehaving) as pipeline:
        crashes = {
            "uploads/crash/segfault.jpg": "Runtime.ExitError: Runtime exited with error: "
            "signal: SIGSEGV",
            "uploads/crash/exit.jpg": "Runtime.ExitError: Runtime exited with error: "
            "exit status 3",
            "uploads/crash/hang.jpg": "Task timed out after 1.50 seconds",
        }
        # WHEN each is uploaded
        for key in crashes:
            pipeline.upload(key, encode(photo(64, 64), "JPEG"))
        done = pipeline.wait_for(crashes, 90)

        # THEN each was tried three times (Lambda's two retries), then dead-lettered as it came
        assert {key: (inv.attempts, inv.dead_lettered, inv.error) for key, inv in done.items()} == {
            key: (3, True, error) for key, error in crashes.items()
        }
        dead = pipeline.dead_letters()
        assert sorted(dead, key=str) == sorted((done[key].event for key in crashes), key=str)
        # AND the stand-in (same server, same data) and the runner carried on as usual, with a
        # real thumbnail under the template's Timeout, not a limit meant to catch a hang
        pipeline.invoker.timeout_seconds = 60.0
        pipeline.upload("uploads/crash/fine.jpg", encode(photo(300, 200), "JPEG"))
        fine = pipeline.wait_for(["uploads/crash/fine.jpg"], 60)["uploads/crash/fine.jpg"]
        assert fine.response["outcomes"][0]["status"] == "written"
        assert pipeline.output_keys() == ["crash/fine_128w.webp", "crash/fine_512w.webp"]


def test_a_permission_missing_from_the_role_shows_up_with_its_action_and_resource(
    tmp_path, monkeypatch
):
    # GIVEN the template's role less the statement that lets the function write thumbnails
    real = execution_role.function_role_policies

    def without_write(parameters, resources):
        policies = real(parameters, resources)
        [write] = [s for s in execution_role.statements_of(policies) if "WriteThumbnails" in s.name]
        return execution_role.without(policies, write)

    monkeypatch.setattr(execution_role, "function_role_policies", without_write)
    with LocalPipeline(workers=1, log_dir=tmp_path, max_retries=0) as pipeline:
        # WHEN an image is uploaded
        pipeline.upload("uploads/denied.jpg", encode(photo(300, 200), "JPEG"))
        invocation = pipeline.wait_for(["uploads/denied.jpg"], 60)["uploads/denied.jpg"]

        # THEN the function fails on it, saying which action on which resource was denied
        assert invocation.dead_lettered
        assert (
            "is not authorized to perform: s3:PutObject on resource: "
            "arn:aws:s3:::sip-local-output/denied_128w.webp" in invocation.error
        )
        # AND the run lists every denial (the demo prints them after its table)
        assert pipeline.denials() == [
            "AccessDenied: arn:aws:sts::123456789012:assumed-role/ThumbnailFunctionRole/"
            "ThumbnailFunctionRole may not s3:PutObject on "
            "arn:aws:s3:::sip-local-output/denied_128w.webp"
        ]

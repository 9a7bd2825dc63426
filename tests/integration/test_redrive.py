"""`scripts/ops/redrive.py` against moto: both kinds of DLQ message, replayed by the service."""

import dataclasses
import json

import pytest

import app
from scripts.ops import backfill, redrive
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import event_of, sqs_accepts
from thumbnailer.errors import TransientError
from thumbnailer.models import SourceObject
from thumbnailer.processing import ThumbnailService
from thumbnailer.storage import DeadLetterQueue, ObjectStore

JPEG = encode(photo(900, 600), "JPEG")
CORRUPT = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # The function's logs go to ./out/logs; re-queued records are visible at once to a re-run.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(redrive, "REQUEUE_DELAY_SECONDS", 0)
    monkeypatch.setattr(redrive, "WAIT_SECONDS", 0)


def queue(stack):
    """Every message in the DLQ as (id, body, attributes), leaving them all visible."""
    messages = stack.sqs.receive_message(
        QueueUrl=stack.dlq_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    for m in messages:  # moto accepts any body; SQS does not
        assert sqs_accepts(m["Body"]), f"SQS would refuse {m['Body']!r}"
    return [
        (
            m["MessageId"],
            json.loads(m["Body"]),
            {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()},
        )
        for m in messages
    ]


def lambda_gave_up_on(stack, event):
    """What Lambda's DeadLetterConfig sends after the retries: the event, the error alongside."""
    stack.sqs.send_message(
        QueueUrl=stack.dlq_url,
        MessageBody=json.dumps(event),
        MessageAttributes={
            "RequestID": {
                "DataType": "String",
                "StringValue": "8f5c0e3a-0000-4000-8000-000000000000",
            },
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": "TransientError: NoSuchBucket"},
        },
    )


def run(capsys, *args):
    code = redrive.main(["--max-messages", "50", *args])
    return code, capsys.readouterr().out


def test_a_function_record_is_replayed_and_deleted(stack, lambda_context, capsys, monkeypatch):
    # GIVEN a function record left by a function limited to 0.1 MP (since raised back)
    record = stack.upload("uploads/big.jpg", JPEG)
    monkeypatch.setattr(
        app, "SETTINGS", dataclasses.replace(app.SETTINGS, max_input_pixels=100_000)
    )
    app.thumbnail_service.cache_clear()
    app.lambda_handler(event_of(record), lambda_context)
    [(_, body, attributes)] = queue(stack)
    assert (body["reason"], attributes["reason"]) == ("too_many_pixels", "too_many_pixels")

    # WHEN the DLQ is replayed with the function's current settings
    code, out = run(capsys)

    # THEN the object got its thumbnails, and its record is gone
    assert code == 0
    assert stack.output_keys() == ["big_128w.webp", "big_512w.webp"]
    assert queue(stack) == []
    assert "replayed       s3://uploads-in/uploads/big.jpg  (written)" in out
    assert "replayed: 1   still failing: 0   skipped: 0" in out


def test_an_event_lambda_gave_up_on_is_replayed(stack, capsys):
    # GIVEN an S3 event that exhausted Lambda's retries while the output bucket was missing
    lambda_gave_up_on(stack, event_of(stack.upload("uploads/late.jpg", JPEG)))

    # WHEN replayed now that the world is fine
    code, out = run(capsys)

    # THEN the thumbnails exist and the event is deleted
    assert code == 0
    assert stack.output_keys() == ["late_128w.webp", "late_512w.webp"]
    assert queue(stack) == []
    assert "replayed: 1   still failing: 0   skipped: 0" in out


def test_an_object_still_failing_keeps_exactly_one_updated_record(stack, lambda_context, capsys):
    # GIVEN the function's record of a corrupt upload
    app.lambda_handler(event_of(stack.upload("uploads/bad.png", CORRUPT)), lambda_context)
    [(first_id, first, _)] = queue(stack)

    # WHEN replayed, twice
    _, out = run(capsys)
    [(second_id, second, attributes)] = queue(stack)
    run(capsys)
    [(third_id, third, _)] = queue(stack)

    # THEN each run leaves one fresh record for it, with the new attempt counted
    assert "still failing  s3://uploads-in/uploads/bad.png  (corrupt_image: " in out
    assert "replayed: 0   still failing: 1   skipped: 0" in out
    assert len({first_id, second_id, third_id}) == 3
    assert (second["reason"], attributes["reason"], second["replays"]) == (
        "corrupt_image",
        "corrupt_image",
        1,
    )
    assert third["replays"] == 2
    assert {k: third[k] for k in ("bucket", "key", "etag")} == {
        k: first[k] for k in ("bucket", "key", "etag")
    }
    assert stack.output_keys() == []


def test_a_fifo_dlq_gets_each_runs_fresh_record_at_once(stack, capsys, monkeypatch):
    # GIVEN the template's FIFO dead-letter queue (with its 15-minute delay, which FIFO queues
    # do not take) holding the function's record of a corrupt upload
    url = stack.sqs.create_queue(QueueName="dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    monkeypatch.setenv("DLQ_URL", url)
    monkeypatch.setattr(redrive, "REQUEUE_DELAY_SECONDS", 900)
    stack.dlq_url = url
    etag = stack.upload("uploads/bad.png", CORRUPT)["s3"]["object"]["eTag"]
    service = ThumbnailService(
        dataclasses.replace(app.SETTINGS, dlq_url=url), ObjectStore(), DeadLetterQueue(url)
    )
    service.process(SourceObject(bucket=stack.input_bucket, key="uploads/bad.png", etag=etag))

    # WHEN replayed twice, well within SQS's five-minute deduplication window
    _, out = run(capsys)
    [(_, second, _)] = queue(stack)
    run(capsys)
    [(_, third, _)] = queue(stack)

    # THEN each run's fresh record replaced the last (never dropped as its repeat), visible at
    # once, as the summary says
    assert (second["replays"], third["replays"]) == (1, 2)
    assert "they show in the queue again: 1 at once (a FIFO queue)" in out


def test_a_failed_event_is_split_into_one_record_per_failing_object(stack, capsys):
    # GIVEN a failed event naming a good image and a corrupt one
    event = event_of(
        stack.upload("uploads/good.jpg", JPEG), stack.upload("uploads/bad.png", CORRUPT)
    )
    lambda_gave_up_on(stack, event)

    # WHEN replayed
    _, out = run(capsys)

    # THEN the good one is done and the bad one is now a function record of its own
    assert stack.output_keys() == ["good_128w.webp", "good_512w.webp"]
    [(_, body, _)] = queue(stack)
    assert body["schema"] == "serverless-image-pipeline/failure/v1"
    assert (body["key"], body["reason"], body["replays"]) == ("uploads/bad.png", "corrupt_image", 1)
    assert "replayed: 1   still failing: 1   skipped: 0" in out


def test_two_records_of_one_object_leave_one(stack, lambda_context, capsys):
    # GIVEN the same bad upload reported twice (a duplicate S3 delivery before the fix)
    record = stack.upload("uploads/twice.png", CORRUPT)
    app.lambda_handler(event_of(record), lambda_context)
    app.lambda_handler(event_of(record), lambda_context)
    assert len(queue(stack)) == 2

    # WHEN replayed
    _, out = run(capsys)

    # THEN it was tried once, and one record remains
    assert len(queue(stack)) == 1
    assert "still failing: 1" in out
    assert "duplicate messages removed: 1" in out


def test_a_transient_failure_is_recorded_with_its_reason(stack, capsys, failed_event_queue):
    # GIVEN a failed event, replayed while the output bucket is (still) missing
    lambda_gave_up_on(stack, event_of(stack.upload("uploads/x.jpg", JPEG)))
    stack.s3.delete_bucket(Bucket=stack.output_bucket)

    # WHEN replayed
    _, out = run(capsys)

    # THEN the event became one record saying what failed and that retrying may help, in the
    # failed-event queue
    [body] = messages_in(stack, failed_event_queue)
    assert (body["key"], body["reason"], body["retryable"]) == (
        "uploads/x.jpg",
        "transient_error",
        True,
    )
    assert "NoSuchBucket" in body["message"]
    assert "still failing: 1" in out
    assert queue(stack) == []


def test_a_dry_run_lists_and_changes_nothing(stack, lambda_context, capsys):
    # GIVEN one message of each kind
    app.lambda_handler(event_of(stack.upload("uploads/bad.png", CORRUPT)), lambda_context)
    lambda_gave_up_on(stack, event_of(stack.upload("uploads/ok.jpg", JPEG)))
    before = sorted(message_id for message_id, _, _ in queue(stack))

    # WHEN dry-run
    code, out = run(capsys, "--dry-run")

    # THEN both objects are listed, and the queue and the bucket are as they were
    assert code == 0
    assert "would replay   s3://uploads-in/uploads/bad.png  (function record: corrupt_image)" in out
    assert "would replay   s3://uploads-in/uploads/ok.jpg  (failed event: TransientError" in out
    assert "dry run: 2 object(s) would be replayed, 0 message(s) skipped" in out
    assert sorted(message_id for message_id, _, _ in queue(stack)) == before
    assert stack.output_keys() == []


def test_a_message_it_does_not_understand_is_left_alone(stack, capsys):
    # GIVEN a message that is neither kind
    stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody="hello")
    # WHEN replayed / THEN it is skipped and still there
    _, out = run(capsys)
    assert "(the body is not JSON)" in out
    assert "replayed: 0   still failing: 0   skipped: 1" in out
    left = stack.sqs.receive_message(QueueUrl=stack.dlq_url, VisibilityTimeout=0)["Messages"]
    assert [message["Body"] for message in left] == ["hello"]


def test_max_messages_bounds_the_run(stack, lambda_context, capsys):
    # GIVEN three bad uploads reported
    for name in ("a", "b", "c"):
        app.lambda_handler(event_of(stack.upload(f"uploads/{name}.png", CORRUPT)), lambda_context)
    # WHEN replayed with a limit of two messages
    code = redrive.main(["--max-messages", "2"])
    out = capsys.readouterr().out
    # THEN exactly two were handled
    assert code == 0
    assert out.count("still failing  ") == 2


def test_a_notification_the_ingest_queue_redrove_is_replayed_like_a_failed_event(stack, capsys):
    # GIVEN IngestMode=queue: the ingest queue moved an upload's S3 notification to the DLQ
    # after IngestMaxReceiveCount receives, as it was (no error attributes)
    record = stack.upload("uploads/queued/late.jpg", JPEG)
    stack.sqs.send_message(QueueUrl=stack.dlq_url, MessageBody=json.dumps(event_of(record)))

    # WHEN the DLQ is replayed
    code, out = run(capsys)

    # THEN it was read as a failed event, the object got its thumbnails, and the message is gone
    assert code == 0
    assert f"replayed       s3://{stack.input_bucket}/uploads/queued/late.jpg  (written)" in out
    assert stack.output_keys() == ["queued/late_128w.webp", "queued/late_512w.webp"]
    assert queue(stack) == []


def test_keys_with_characters_sqs_refuses_still_make_records_redrive_understands(
    stack, lambda_context, capsys
):
    # GIVEN a corrupt upload whose key holds characters an SQS body may not (U+FFFE, U+FFFF)
    # next to ones it may (a tab, an accent, an emoji)
    key = "uploads/odd\ufffe\uffff\tété 🙂.png"
    app.lambda_handler(event_of(stack.upload(key, CORRUPT)), lambda_context)

    # WHEN its record is read
    [(_, record, attributes)] = queue(stack)

    # THEN the body is one SQS accepts, and its key, once parsed, is the key itself
    assert record["key"] == key
    assert attributes["reason"] == "corrupt_image"
    # AND the replay finds the same object, and re-queues a valid record for it
    _, out = run(capsys)
    assert "still failing: 1" in out
    [(_, again, _)] = queue(stack)
    assert (again["key"], again["replays"]) == (key, 1)


@pytest.fixture
def failed_event_queue(stack, monkeypatch):
    """The stack's FailedEventQueue, named to the scripts as a shell would (local runs)."""
    url = stack.sqs.create_queue(QueueName="thumbs-failed-events")["QueueUrl"]
    monkeypatch.setenv("FAILED_EVENT_QUEUE_URL", url)
    return url


def messages_in(stack, url):
    messages = stack.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_failed_events_are_replayed_from_their_own_queue_and_fail_back_into_it(
    stack, lambda_context, capsys, failed_event_queue
):
    # GIVEN an event Lambda gave up on, in the failed-event queue, while the output bucket is
    # still missing
    stack.sqs.send_message(
        QueueUrl=failed_event_queue,
        MessageBody=json.dumps(event_of(stack.upload("uploads/late.jpg", JPEG))),
    )
    stack.s3.delete_bucket(Bucket=stack.output_bucket)

    # WHEN the queues are replayed
    _, out = run(capsys)

    # THEN the world's failure is back in the failed-event queue (it still alarms), not in the
    # dead-letter queue
    assert "still failing: 1" in out
    [late] = messages_in(stack, failed_event_queue)
    assert (late["key"], late["reason"], late["retryable"]) == (
        "uploads/late.jpg",
        "transient_error",
        True,
    )
    assert queue(stack) == []

    # WHEN the world is fine again, a bad upload has been reported, and both are replayed
    stack.s3.create_bucket(Bucket=stack.output_bucket)
    app.lambda_handler(event_of(stack.upload("uploads/bad.png", CORRUPT)), lambda_context)
    _, out = run(capsys)

    # THEN the failed-event queue is empty (its alarm clears), and the bad object's fresh
    # record is in the dead-letter queue (which alarms only on a rate)
    assert messages_in(stack, failed_event_queue) == []
    assert stack.output_keys() == ["late_128w.webp", "late_512w.webp"]
    [(_, bad, _)] = queue(stack)
    assert (bad["key"], bad["retryable"], bad["replays"]) == ("uploads/bad.png", False, 1)


@pytest.mark.parametrize("still_bad", ["archive", "drop"])
def test_objects_still_bad_can_be_archived_or_dropped_to_empty_the_queue(
    stack, lambda_context, capsys, tmp_path, still_bad
):
    # GIVEN the records of a corrupt upload and of one that is fine now
    app.lambda_handler(event_of(stack.upload("uploads/bad.png", CORRUPT)), lambda_context)
    lambda_gave_up_on(stack, event_of(stack.upload("uploads/ok.jpg", JPEG)))
    archive = tmp_path / "kept" / "still-bad.jsonl"

    # WHEN replayed with --still-bad archive (or drop)
    code, out = run(capsys, "--still-bad", still_bad, "--archive", str(archive))

    # THEN the good one is done, the bad one's record left the queue, which is empty
    assert code == 0
    assert stack.output_keys() == ["ok_128w.webp", "ok_512w.webp"]
    assert queue(stack) == []
    assert "still bad objects archived or dropped, not re-queued: 1" in out
    # AND archived, the record is in the file, fresh (replays counted), with its reason
    if still_bad == "archive":
        [line] = archive.read_text(encoding="utf-8").splitlines()
        record = json.loads(line)
        assert (record["key"], record["reason"], record["replays"]) == (
            "uploads/bad.png",
            "corrupt_image",
            1,
        )
        assert f"archived       s3://uploads-in/uploads/bad.png  ({archive})" in out
    else:
        assert not archive.exists()
        assert "dropped        s3://uploads-in/uploads/bad.png  (not re-queued)" in out


def test_an_object_outside_this_runs_prefix_keeps_its_message(stack, capsys, monkeypatch):
    # GIVEN a failed event of a function on INPUT_PREFIX=images/, and an operator shell whose
    # INPUT_PREFIX is another
    lambda_gave_up_on(stack, event_of(stack.upload("images/cat.jpg", JPEG)))

    # WHEN the queue is replayed
    _, out = run(capsys)

    # THEN the replay did not do the work, so the message stays, and says why
    assert "skipped: outside_input_prefix" in out
    assert "replayed: 0" in out
    [(_, body, _)] = queue(stack)
    assert body["Records"][0]["s3"]["object"]["key"] == "images/cat.jpg"
    assert stack.output_keys() == []


@pytest.mark.parametrize(
    "unset", ["OUTPUT_FORMATS", "AVIF_QUALITY", "CROP_SIZES", "WRITE_MANIFEST"]
)
def test_a_shell_without_the_functions_whole_configuration_is_refused(
    stack, capsys, monkeypatch, unset
):
    # GIVEN a failed event, and a shell with the variables docs/operations.md used to list,
    # less one the function sets
    lambda_gave_up_on(stack, event_of(stack.upload("uploads/x.jpg", JPEG)))
    monkeypatch.delenv(unset)

    # WHEN redrive (or backfill) runs
    code = redrive.main(["--max-messages", "5"])
    refused = capsys.readouterr().err
    backfill_code = backfill.main(["--bucket", stack.input_bucket])

    # THEN both refuse, naming what is missing, and nothing was made or deleted
    assert (code, backfill_code) == (2, 2)
    assert f"{unset} unset" in refused
    assert len(queue(stack)) == 1
    assert stack.output_keys() == []


def test_a_transient_failure_from_the_failed_event_queue_goes_back_there(
    stack, capsys, monkeypatch, failed_event_queue
):
    # GIVEN a failed event in the failed-event queue, named with --queue-url in a shell without
    # FAILED_EVENT_QUEUE_URL, while S3 still fails
    stack.sqs.send_message(
        QueueUrl=failed_event_queue,
        MessageBody=json.dumps(event_of(stack.upload("uploads/late.jpg", JPEG))),
    )
    monkeypatch.delenv("FAILED_EVENT_QUEUE_URL")
    stack.s3.delete_bucket(Bucket=stack.output_bucket)

    # WHEN that queue is replayed
    _, out = run(capsys, "--queue-url", failed_event_queue)

    # THEN the world's failure is back in the failed-event queue (its alarm stays), never in
    # the dead-letter queue
    assert "still failing: 1" in out
    [late] = messages_in(stack, failed_event_queue)
    assert (late["key"], late["retryable"]) == ("uploads/late.jpg", True)
    assert queue(stack) == []


def test_a_transient_failure_in_the_dlq_with_no_failed_event_queue_is_kept(stack, capsys):
    # GIVEN a failed event in the dead-letter queue, no failed-event queue known, S3 failing
    event = event_of(stack.upload("uploads/x.jpg", JPEG))
    lambda_gave_up_on(stack, event)
    stack.s3.delete_bucket(Bucket=stack.output_bucket)

    # WHEN replayed
    _, out = run(capsys)

    # THEN the message is kept as it was: there is nowhere to send the world's failure but the
    # dead-letter queue, where it does not belong
    assert "cannot re-queue: no failed-event queue" in out
    [(_, body, _)] = queue(stack)
    assert body == event


def test_a_failed_requeue_archives_nothing_and_the_rerun_archives_once(
    stack, capsys, monkeypatch, tmp_path, failed_event_queue
):
    # GIVEN a failed event naming a corrupt upload and one S3 cannot read yet; the first
    # re-queue of the run fails
    event = event_of(
        stack.upload("uploads/bad.png", CORRUPT), stack.upload("uploads/late.jpg", JPEG)
    )
    lambda_gave_up_on(stack, event)
    real_read, real_send = ObjectStore.read, DeadLetterQueue.send

    def read(self, bucket, key, **kwargs):
        if key == "uploads/late.jpg":
            raise TransientError("S3 GetObject failed: SlowDown")
        return real_read(self, bucket, key, **kwargs)

    failures = [TransientError("SQS SendMessage failed: timeout")]

    def send(self, record, **kwargs):
        if failures:
            raise failures.pop()
        return real_send(self, record, **kwargs)

    monkeypatch.setattr(ObjectStore, "read", read)
    monkeypatch.setattr(DeadLetterQueue, "send", send)
    archive = tmp_path / "still-bad.jsonl"

    # WHEN redrive archives still-bad objects, and is run again after the failed run
    run(capsys, "--still-bad", "archive", "--archive", str(archive))
    first = archive.read_text(encoding="utf-8").splitlines() if archive.exists() else []
    run(capsys, "--still-bad", "archive", "--archive", str(archive))

    # THEN the failed run archived nothing, and the re-run archived the bad object once,
    # re-queued the other once, and deleted the message
    assert first == []
    lines = archive.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["uploads/bad.png"]
    assert [m["key"] for m in messages_in(stack, failed_event_queue)] == ["uploads/late.jpg"]
    assert queue(stack) == []

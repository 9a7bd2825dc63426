"""IngestMode=queue on the local twin: S3 -> ingest queue -> event source mapping -> handler."""

import json
import time
from urllib.parse import unquote_plus

import pytest

from scripts.local.pipeline import LocalPipeline
from scripts.support.sample_images import encode, photo

MAX_RECEIVES = 2
QUEUE_MODE = {
    "IngestMode": "queue",
    "IngestBatchSize": "10",
    "IngestMaximumBatchingWindow": "1",
    # Short, so that a failed message comes back (and is redriven) within seconds; longer than
    # the batching window, as it must be.
    "IngestVisibilityTimeout": "2",
    "IngestMaxReceiveCount": str(MAX_RECEIVES),
    # Deletes under the prefix go to the same queue (the last test).
    "SyncDeletes": "true",
}
GOOD, BAD, ARCHIVED = "uploads/q/ok photo.jpg", "uploads/q/broken.png", "uploads/q/archived.jpg"


@pytest.fixture(scope="module")
def pipeline():
    with LocalPipeline(workers=1, parameters=QUEUE_MODE) as running:
        yield running


@pytest.fixture(scope="module")
def settled(pipeline):
    """A good, a corrupt and an archived upload, queued while processing was paused."""
    # S3's test event, sent when the notification was configured, goes through first.
    deadline = time.monotonic() + 120  # generous: a wait that expires fails, never carries on
    while pipeline.ingest.pending():
        assert time.monotonic() < deadline, "S3's test event was never taken off the ingest queue"
        time.sleep(0.1)
    pipeline.pause_ingest()
    pipeline.upload(GOOD, encode(photo(900, 600), "JPEG"))
    pipeline.upload(BAD, b"\x89PNG\r\n\x1a\nnope")
    # Archived objects cannot be read until restored: S3 answers InvalidObjectState, which the
    # function treats as transient (retrying may help), so the message fails every time.
    pipeline.s3.put_object(
        Bucket=pipeline.stack.input_bucket,
        Key=ARCHIVED,
        Body=encode(photo(300, 200), "JPEG"),
        StorageClass="GLACIER",
    )
    waiting = pipeline.ingest.pending()
    processed_while_paused = [b for b in pipeline.batches for m in b.messages if m.keys]
    pipeline.resume_ingest()
    done = pipeline.wait_for([GOOD, BAD, ARCHIVED], 90)
    return {
        "waiting": waiting,
        "processed_while_paused": processed_while_paused,
        "outcomes": {key: (inv.attempts, inv.dead_lettered) for key, inv in done.items()},
        "dead": pipeline.dead_letters(),
    }


def batches_with(pipeline, key):
    return [b for b in pipeline.batches if any(key in m.keys for m in b.messages)]


def test_uploads_wait_in_the_queue_while_processing_is_paused(settled):
    # GIVEN the event source mapping was disabled / WHEN three objects were uploaded
    # THEN their notifications waited in the ingest queue, and none reached the function
    assert settled["waiting"] == 3
    assert settled["processed_while_paused"] == []


def test_one_batch_carries_the_uploads_and_reports_only_the_transient_failure(pipeline, settled):
    # GIVEN processing was resumed
    # WHEN the first batch carrying the uploads was handled
    [first, *_] = batches_with(pipeline, GOOD)
    ids = {key: m.message_id for m in first.messages for key in m.keys}

    # THEN all three came in that one batch, as SQS batch records the way Lambda delivers them
    assert set(ids) == {GOOD, BAD, ARCHIVED}
    for record in first.event["Records"]:
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == pipeline.ingest.queue_arn
        assert record["receiptHandle"]
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert json.loads(record["body"])["Records"][0]["eventSource"] == "aws:s3"
    # AND only the archived object's message was reported failed: the corrupt one succeeded
    assert first.error == ""
    assert first.response == {"batchItemFailures": [{"itemIdentifier": ids[ARCHIVED]}]}


def test_good_and_bad_uploads_are_settled_once_and_end_in_one_place_each(pipeline, settled):
    # GIVEN the uploads have settled: two processed on their first receive, one redriven
    assert settled["outcomes"] == {
        GOOD: (1, False),
        BAD: (1, False),
        ARCHIVED: (MAX_RECEIVES, True),
    }

    # WHEN the output bucket and the dead-letter queue are read
    thumbnails = dict(pipeline.thumbnails())
    dead = settled["dead"]

    # THEN the good upload has its thumbnails, delivered once (its message was deleted)
    assert {"q/ok photo_128w.webp", "q/ok photo_512w.webp"} <= set(thumbnails)
    assert len(batches_with(pipeline, GOOD)) == 1
    # AND the corrupt one has exactly one record from the function, and was delivered once
    records = [d for d in dead if d.get("schema", "").startswith("serverless-image-pipeline/")]
    assert [(d["key"], d["reason"]) for d in records] == [(BAD, "corrupt_image")]
    assert len(batches_with(pipeline, BAD)) == 1


def test_a_message_that_keeps_failing_is_redriven_to_the_dlq_by_the_queue(pipeline, settled):
    # GIVEN the archived upload's message failed on every receive
    deliveries = [
        m for b in batches_with(pipeline, ARCHIVED) for m in b.messages if ARCHIVED in m.keys
    ]
    assert [(m.receive_count, m.failed) for m in deliveries] == [
        (count, True) for count in range(1, MAX_RECEIVES + 1)
    ]

    # WHEN the dead-letter queue is read
    dead = settled["dead"]

    # THEN the queue moved the original S3 notification there, untouched, and the function
    # wrote no record of its own for it (retrying might still help once the object is restored)
    redriven = [d for d in dead if "Records" in d]
    keys = [unquote_plus(d["Records"][0]["s3"]["object"]["key"]) for d in redriven]
    assert keys == [ARCHIVED]
    assert all(d.get("key") != ARCHIVED for d in dead)
    assert pipeline.ingest.pending() == 0


def test_s3s_test_event_comes_through_the_queue_and_is_deleted(pipeline, settled):
    # GIVEN S3 sent s3:TestEvent to the ingest queue when the notification was configured
    test_messages = [
        (batch, record)
        for batch in pipeline.batches
        for record in batch.event["Records"]
        if json.loads(record["body"]).get("Event") == "s3:TestEvent"
    ]
    # THEN the function took it once, without reporting it failed
    assert len(test_messages) == 1
    batch, record = test_messages[0]
    assert record["messageId"] not in {
        item["itemIdentifier"] for item in batch.response["batchItemFailures"]
    }


def removal_batches(pipeline):
    """(batch, SQS record) for every ObjectRemoved notification the function was handed."""
    return [
        (batch, record)
        for batch in list(pipeline.batches)
        for record in batch.event["Records"]
        for s3_record in json.loads(record["body"]).get("Records", [])
        if s3_record["eventName"].startswith("ObjectRemoved:")
    ]


def test_with_sync_deletes_a_delete_goes_through_the_queue_and_removes_the_thumbnails(
    pipeline, settled
):
    # GIVEN the good upload's thumbnails exist (the module's other tests are done with them)
    thumbnails = {"q/ok photo_128w.webp", "q/ok photo_512w.webp"}
    assert thumbnails <= {key for key, _ in pipeline.thumbnails()}

    # WHEN the original is deleted, and the queue has handed its notification to the function
    pipeline.s3.delete_object(Bucket=pipeline.stack.input_bucket, Key=GOOD)
    deadline = time.monotonic() + 60
    while not removal_batches(pipeline):
        assert time.monotonic() < deadline, "no ObjectRemoved notification came through"
        time.sleep(0.2)

    # THEN S3's ObjectRemoved notification came through the ingest queue, in a batch the
    # function handled without failing it
    [(batch, record)] = removal_batches(pipeline)
    assert record["eventSourceARN"] == pipeline.ingest.queue_arn
    s3_key = json.loads(record["body"])["Records"][0]["s3"]["object"]["key"]
    assert unquote_plus(s3_key) == GOOD
    assert batch.response == {"batchItemFailures": []}
    # AND the thumbnails are gone
    assert not thumbnails & {key for key, _ in pipeline.thumbnails()}

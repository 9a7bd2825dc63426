"""Recognising what invoked the function from the event's shape."""

import hashlib
import json
from pathlib import Path

import pytest

from thumbnailer.events import EventShape, event_shape

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def sqs_record(body: dict) -> dict:
    return {"messageId": "m-1", "body": json.dumps(body), "eventSource": "aws:sqs"}


def test_s3_notifications_and_test_events_are_recognised():
    # GIVEN what S3 sends a function directly / WHEN classified / THEN each is named
    assert event_shape(load_event("s3-put.json")) is EventShape.S3_NOTIFICATION
    assert event_shape(load_event("s3-test-event.json")) is EventShape.S3_TEST_EVENT


def test_an_s3_record_without_event_source_still_counts_as_s3():
    # GIVEN a replayed record that kept only its "s3" part
    record = load_event("s3-put.json")["Records"][0]
    del record["eventSource"]
    # WHEN / THEN it is an S3 notification
    assert event_shape({"Records": [record]}) is EventShape.S3_NOTIFICATION


def test_an_sqs_batch_is_recognised_whatever_its_bodies():
    # GIVEN a batch from the event source mapping: an upload's notification and S3's test event
    event = {
        "Records": [
            sqs_record(load_event("s3-put.json")),
            sqs_record(load_event("s3-test-event.json")),
        ]
    }
    # WHEN / THEN it is a batch (its bodies are classified one by one, later)
    assert event_shape(event) is EventShape.SQS_BATCH


def test_the_sample_ingest_batch_is_a_batch_of_s3_documents():
    # GIVEN the sample of what the event source mapping delivers (events/, for sam local invoke)
    event = load_event("sqs-ingest-batch.json")
    # WHEN it and its bodies are classified
    bodies = [record["body"] for record in event["Records"]]
    # THEN it is a batch of S3's test event and two uploads' notifications, bodies intact
    assert event_shape(event) is EventShape.SQS_BATCH
    assert [event_shape(json.loads(body)) for body in bodies] == [
        EventShape.S3_TEST_EVENT,
        EventShape.S3_NOTIFICATION,
        EventShape.S3_NOTIFICATION,
    ]
    for record in event["Records"]:
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()


@pytest.mark.parametrize("schema", ["1.0", "2.0"])
def test_s3_batch_operations_invocations_are_recognised(schema):
    # GIVEN what an S3 Batch Operations job sends the function, in each schema
    event = load_event(f"batch-operations-{schema}.json")
    # WHEN / THEN it is named as such
    assert event_shape(event) is EventShape.BATCH_OPERATIONS


def test_a_batch_operations_invocation_without_tasks_is_refused():
    with pytest.raises(ValueError, match="no 'tasks' list"):
        event_shape({"invocationSchemaVersion": "2.0", "invocationId": "x"})


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"Records": "nope"},
        {"Records": [{"eventSource": "aws:sns", "Sns": {}}]},
        {"Records": [sqs_record({}), {"eventSource": "aws:dynamodb"}]},
    ],
)
def test_anything_else_is_refused_with_a_message(event):
    with pytest.raises(ValueError, match="not an S3 notification or an SQS batch"):
        event_shape(event)

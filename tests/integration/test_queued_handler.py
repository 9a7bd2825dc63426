"""IngestMode=queue: the real handler takes SQS batches of S3 notifications, against moto."""

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

import app
from scripts.local.event_source import lambda_sqs_record
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import event_of, load_event

JPEG = encode(photo(600, 400), "JPEG")


@pytest.fixture
def queued(stack):
    """Sends bodies through a real (moto) queue; returns Lambda's batch event and message ids."""
    url = stack.sqs.create_queue(QueueName="thumbs-ingest")["QueueUrl"]
    arn = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    def batch_of(*bodies: dict | str) -> tuple[dict, list[str]]:
        for body in bodies:
            text = body if isinstance(body, str) else json.dumps(body)
            stack.sqs.send_message(QueueUrl=url, MessageBody=text)
        messages = stack.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )["Messages"]
        assert len(messages) == len(bodies)
        return (
            {"Records": [lambda_sqs_record(message, arn) for message in messages]},
            [message["MessageId"] for message in messages],
        )

    return batch_of


def archived_upload(stack, key: str) -> dict:
    """An upload S3 will not serve until it is restored: reading it fails, but not for good."""
    record = stack.upload(key, JPEG)
    stack.s3.put_object(Bucket=stack.input_bucket, Key=key, Body=JPEG, StorageClass="GLACIER")
    return record


def test_a_bad_object_is_reported_once_and_its_message_succeeds(stack, queued, lambda_context):
    # GIVEN a batch with a good upload, a corrupt one and S3's test event
    event, _ = queued(
        event_of(stack.upload("uploads/good.jpg", JPEG)),
        event_of(stack.upload("uploads/bad.jpg", b"\xff\xd8\xff\xe0 not really")),
        load_event("s3-test-event.json"),
    )

    # WHEN the function takes the batch
    response = app.lambda_handler(event, lambda_context)

    # THEN no message is reported failed: none would be retried
    assert response == {"batchItemFailures": []}
    # AND the good upload has thumbnails, the bad one exactly one DLQ record
    assert stack.output_keys() == ["good_128w.webp", "good_512w.webp"]
    assert [(d["key"], d["reason"]) for d in stack.dead_letters()] == [
        ("uploads/bad.jpg", "corrupt_image")
    ]


def test_only_the_message_that_failed_transiently_is_reported(stack, queued, lambda_context):
    # GIVEN a batch with an archived upload (S3 answers InvalidObjectState) and a good one
    event, message_ids = queued(
        event_of(archived_upload(stack, "uploads/archived.jpg")),
        event_of(stack.upload("uploads/fine.jpg", JPEG)),
    )

    # WHEN the function takes the batch
    response = app.lambda_handler(event, lambda_context)

    # THEN only the archived upload's message is reported, so only it comes back
    assert response == {"batchItemFailures": [{"itemIdentifier": message_ids[0]}]}
    # AND the other one was processed, and nothing was reported to the DLQ by the function
    assert stack.output_keys() == ["fine_128w.webp", "fine_512w.webp"]
    assert stack.dead_letters() == []


def test_a_batch_whose_every_message_fails_raises_so_the_whole_batch_comes_back(
    stack, queued, lambda_context
):
    # GIVEN a batch whose only upload cannot be read for now
    event, _ = queued(event_of(archived_upload(stack, "uploads/later.jpg")))
    # WHEN / THEN the invocation fails (Powertools raises when every record failed)
    with pytest.raises(BatchProcessingError):
        app.lambda_handler(event, lambda_context)
    assert stack.dead_letters() == []


@pytest.mark.parametrize(
    "body",
    ["not json at all", {"hello": "world"}, load_event("batch-operations-2.0.json")],
    ids=["not-json", "other-json", "batch-operations-task"],
)
def test_a_message_that_is_no_s3_notification_is_reported_failed(
    stack, queued, lambda_context, body
):
    # GIVEN a stray message next to a good upload
    event, message_ids = queued(body, event_of(stack.upload("uploads/next.jpg", JPEG)))

    # WHEN the function takes the batch
    response = app.lambda_handler(event, lambda_context)

    # THEN the stray message is reported (the queue's redrive policy will move it to the DLQ)
    assert response == {"batchItemFailures": [{"itemIdentifier": message_ids[0]}]}
    assert stack.output_keys() == ["next_128w.webp", "next_512w.webp"]


def test_log_lines_name_the_message_and_the_object(stack, queued, lambda_context, captured_output):
    # GIVEN a batch with one bad upload
    event, message_ids = queued(event_of(stack.upload("uploads/logged.jpg", b"not an image")))
    # WHEN handled
    app.lambda_handler(event, lambda_context)
    # THEN every line about the object also names the SQS message it came in
    logs, _ = captured_output()
    lines = [line for line in logs if "object_key" in line]
    assert lines
    for line in lines:
        assert line["object_key"] == "uploads/logged.jpg"
        assert line["sqs_message_id"] == message_ids[0]

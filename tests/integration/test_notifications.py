"""Notifications: the real handler publishes to SNS; subscribers filter on `outcome` (moto)."""

import dataclasses
import json

import boto3
import pytest

import app
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import event_of
from tests.integration.test_batch_operations import batch_event
from tests.integration.test_duplicates_and_deletes import removed
from thumbnailer.errors import TransientError
from thumbnailer.notifications import NOTIFICATION_SCHEMA

JPEG = encode(photo(900, 600), "JPEG")


@dataclasses.dataclass
class Topic:
    arn: str
    sns: object
    sqs: object
    inboxes: dict[str, str]  # subscription name -> SQS queue URL

    def received(self, inbox: str) -> list[dict]:
        """SNS envelopes delivered to an inbox: Message, Subject, MessageAttributes."""
        messages = self.sqs.receive_message(
            QueueUrl=self.inboxes[inbox], MaxNumberOfMessages=10
        ).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


def subscribe(sns, sqs, topic_arn: str, name: str, filter_policy: dict | None) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


@pytest.fixture
def topic(stack):
    """The stack's topic; subscribers for failures (like an e-mail), successes, and everything."""
    sns = boto3.client("sns")
    arn = sns.create_topic(Name="thumbs-notifications")["TopicArn"]
    inboxes = {
        "failures": subscribe(sns, stack.sqs, arn, "failures-inbox", {"outcome": ["failure"]}),
        "successes": subscribe(sns, stack.sqs, arn, "successes-inbox", {"outcome": ["success"]}),
        "everything": subscribe(sns, stack.sqs, arn, "everything-inbox", None),
    }
    return Topic(arn, sns, stack.sqs, inboxes)


@pytest.fixture
def notifying(topic, monkeypatch):
    """The function as deployed with notifications on (NOTIFICATION_TOPIC_ARN set)."""
    monkeypatch.setattr(
        app, "SETTINGS", dataclasses.replace(app.SETTINGS, notification_topic_arn=topic.arn)
    )
    app.thumbnail_service.cache_clear()
    yield topic
    app.thumbnail_service.cache_clear()


def test_a_written_upload_is_announced_to_success_subscribers(stack, notifying, lambda_context):
    # GIVEN notifications are on / WHEN an upload is processed
    record = stack.upload("uploads/holiday/beach.jpg", JPEG)
    app.lambda_handler(event_of(record), lambda_context)

    # THEN the success subscriber got one message, with outcome=success as its attribute
    [envelope] = notifying.received("successes")
    assert envelope["MessageAttributes"]["outcome"] == {"Type": "String", "Value": "success"}
    assert envelope["Subject"] == "Thumbnails ready (2)"
    message = json.loads(envelope["Message"])
    # AND the message names the source, each thumbnail with its size, and the bytes
    assert message["schema"] == NOTIFICATION_SCHEMA
    assert message["outcome"] == "success"
    assert message["source"]["bucket"] == stack.input_bucket
    assert message["source"]["key"] == "uploads/holiday/beach.jpg"
    assert message["source"]["size"] == len(JPEG)
    assert message["thumbnails"] == [
        {
            "bucket": stack.output_bucket,
            "key": "holiday/beach_128w.webp",
            "width": 128,
            "height": 85,
        },
        {
            "bucket": stack.output_bucket,
            "key": "holiday/beach_512w.webp",
            "width": 512,
            "height": 341,
        },
    ]
    assert message["bytes_in"] == len(JPEG)
    assert message["bytes_out"] == sum(
        stack.s3.head_object(Bucket=stack.output_bucket, Key=t["key"])["ContentLength"]
        for t in message["thumbnails"]
    )
    # AND the failures-only subscriber got nothing
    assert notifying.received("failures") == []


def test_a_rejected_upload_is_announced_to_failure_subscribers_only(
    stack, notifying, lambda_context
):
    # GIVEN notifications are on / WHEN a corrupt upload is processed
    record = stack.upload("uploads/broken.gif", b"GIF89a-broken")
    app.lambda_handler(event_of(record), lambda_context)

    # THEN the failure subscriber got one message saying why, and the success one nothing
    [envelope] = notifying.received("failures")
    assert envelope["MessageAttributes"]["outcome"]["Value"] == "failure"
    message = json.loads(envelope["Message"])
    assert (message["outcome"], message["reason"]) == ("failure", "corrupt_image")
    assert message["source"]["key"] == "uploads/broken.gif"
    assert "thumbnails" not in message
    assert notifying.received("successes") == []
    # AND the DLQ still has its one record
    assert [d["reason"] for d in stack.dead_letters()] == ["corrupt_image"]


def test_an_unfiltered_subscriber_gets_both_outcomes(stack, notifying, lambda_context):
    records = [stack.upload("uploads/a.jpg", JPEG), stack.upload("uploads/b.jpg", b"nope")]
    app.lambda_handler(event_of(*records), lambda_context)
    outcomes = sorted(
        (json.loads(e["Message"])["source"]["key"], e["MessageAttributes"]["outcome"]["Value"])
        for e in notifying.received("everything")
    )
    assert outcomes == [("uploads/a.jpg", "success"), ("uploads/b.jpg", "failure")]


def test_a_failed_publish_is_retried_without_a_second_dlq_record(stack, notifying, lambda_context):
    # GIVEN the topic is unreachable (deleted) when a corrupt upload is processed
    notifying.sns.delete_topic(TopicArn=notifying.arn)
    record = stack.upload("uploads/twice.jpg", b"not an image")

    # WHEN handled / THEN it raises, so Lambda retries, before anything went to the DLQ
    with pytest.raises(TransientError, match=r"uploads/twice\.jpg"):
        app.lambda_handler(event_of(record), lambda_context)
    assert stack.dead_letters() == []

    # WHEN the topic is back and the event is retried
    notifying.sns.create_topic(Name="thumbs-notifications")
    app.lambda_handler(event_of(record), lambda_context)

    # THEN the object was reported to the DLQ exactly once
    assert [d["key"] for d in stack.dead_letters()] == ["uploads/twice.jpg"]


def test_without_a_topic_nothing_is_published(stack, topic, lambda_context):
    # GIVEN the default environment: NOTIFICATION_TOPIC_ARN unset
    assert app.SETTINGS.notification_topic_arn == ""
    # WHEN uploads are processed
    records = [stack.upload("uploads/quiet.jpg", JPEG), stack.upload("uploads/bad.jpg", b"x")]
    app.lambda_handler(event_of(*records), lambda_context)
    # THEN the work is done, and no subscriber heard of it
    assert stack.output_keys() == ["quiet_128w.webp", "quiet_512w.webp"]
    assert topic.received("everything") == []


def test_a_repeat_delivery_is_not_announced_again(stack, notifying, lambda_context):
    # GIVEN an upload already processed (and announced)
    record = stack.upload("uploads/twice/beach.jpg", JPEG)
    app.lambda_handler(event_of(record), lambda_context)

    # WHEN S3 delivers the same event again
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN it is skipped as up to date, and nothing more is said: nothing changed
    assert (result["outcomes"][0]["status"], result["outcomes"][0]["reason"]) == (
        "ignored",
        "up_to_date",
    )
    heard = [e["MessageAttributes"]["outcome"]["Value"] for e in notifying.received("everything")]
    assert heard == ["success"]


def test_a_success_that_cannot_be_announced_is_counted_not_retried(
    stack, notifying, lambda_context, captured_output
):
    # GIVEN the topic is unreachable (deleted) when a good upload is processed
    notifying.sns.delete_topic(TopicArn=notifying.arn)
    record = stack.upload("uploads/quiet/beach.jpg", JPEG)

    # WHEN handled
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN the work stands and the invocation succeeds (a retry would find nothing left to do)
    assert result["outcomes"][0]["status"] == "written"
    assert stack.output_keys() == ["quiet/beach_128w.webp", "quiet/beach_512w.webp"]
    # AND the lost notification is logged and counted
    logs, blobs = captured_output()
    assert any("could not be published" in line["message"] for line in logs)
    counted = [blob["NotificationsFailed"] for blob in blobs if "NotificationsFailed" in blob]
    assert counted == [[1.0]]


def test_a_deleted_original_is_announced_with_its_deleted_thumbnails(
    stack, notifying, lambda_context
):
    # GIVEN SyncDeletes: an upload was thumbnailed, then the original was deleted
    record = stack.upload("uploads/gone/beach.jpg", JPEG)
    app.lambda_handler(event_of(record), lambda_context)
    stack.s3.delete_object(Bucket=stack.input_bucket, Key="uploads/gone/beach.jpg")

    # WHEN the ObjectRemoved event is handled
    app.lambda_handler(event_of(removed(record, "0099")), lambda_context)

    # THEN an unfiltered subscriber hears of the delete, with the thumbnails that went
    [deleted] = [
        e
        for e in notifying.received("everything")
        if e["MessageAttributes"]["outcome"]["Value"] == "deleted"
    ]
    message = json.loads(deleted["Message"])
    assert (message["outcome"], message["source"]["key"]) == ("deleted", "uploads/gone/beach.jpg")
    assert message["thumbnails"] == [
        {"bucket": stack.output_bucket, "key": "gone/beach_128w.webp"},
        {"bucket": stack.output_bucket, "key": "gone/beach_512w.webp"},
    ]
    assert stack.output_keys() == []
    # AND the success and failure subscribers do not (their filters leave deletes out)
    assert notifying.received("failures") == []
    assert [json.loads(e["Message"])["outcome"] for e in notifying.received("successes")] == [
        "success"
    ]


def test_batch_operations_announce_what_they_write_but_report_failures_in_the_job(
    stack, notifying, lambda_context
):
    # GIVEN a good and a corrupt object, never announced, in a Batch Operations job
    stack.s3.put_object(Bucket=stack.input_bucket, Key="uploads/old/good.jpg", Body=JPEG)
    stack.s3.put_object(Bucket=stack.input_bucket, Key="uploads/old/bad.jpg", Body=b"nope")

    # WHEN the job invokes the function for each
    for key in ("uploads/old/good.jpg", "uploads/old/bad.jpg"):
        app.lambda_handler(batch_event("2.0", stack.input_bucket, key), lambda_context)

    # THEN the written thumbnails are announced (a webhook may invalidate a cache with them)
    [envelope] = notifying.received("successes")
    assert json.loads(envelope["Message"])["source"]["key"] == "uploads/old/good.jpg"
    # AND the bad object is reported by the job's completion report alone: no DLQ record, no
    # failure notification
    assert notifying.received("failures") == []
    assert stack.dead_letters() == []

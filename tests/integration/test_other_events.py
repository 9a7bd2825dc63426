"""What the function is handed but has nothing to do with, end to end against moto: events other
than ObjectCreated and ObjectRemoved (a notification configured wider than the template's, a
replayed event), and keys outside the input prefix (a Batch Operations manifest of the whole
bucket, a notification without the template's prefix filter). Each is answered without a
request to S3, a write or a dead-letter record."""

import pytest

import app
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import event_of
from tests.integration.test_batch_operations import SCHEMAS, batch_event
from thumbnailer.storage import aws_client

JPEG = encode(photo(300, 200), "JPEG")


@pytest.fixture
def s3_requests(stack) -> list[str]:
    """Every request the function's S3 client sends, by botocore's event name."""
    sent: list[str] = []
    aws_client("s3").meta.events.register(
        "before-send.s3", lambda event_name, **kwargs: sent.append(event_name)
    )
    return sent


@pytest.mark.parametrize(
    "event_name",
    ["ObjectRestore:Completed", "ObjectTagging:Put", "LifecycleTransition", "ObjectAcl:Put"],
)
def test_an_event_neither_created_nor_removed_is_ignored(
    stack, lambda_context, captured_output, s3_requests, event_name
):
    # GIVEN an image, and an S3 event about it that is neither an upload nor a delete
    record = stack.upload("uploads/album/photo.jpg", JPEG)
    record["eventName"] = event_name

    # WHEN handled
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN it is ignored as such, with no request to S3, no output and no DLQ record
    assert result["outcomes"] == [
        {
            "key": "uploads/album/photo.jpg",
            "status": "ignored",
            "reason": "other_event",
            "thumbnails": {},
        }
    ]
    assert s3_requests == []
    assert stack.output_keys() == []
    assert stack.dead_letters() == []
    # AND the log says why, at INFO: nothing is wrong
    logs, _ = captured_output()
    [line] = [line for line in logs if "neither ObjectCreated nor ObjectRemoved" in line["message"]]
    assert (line["level"], line["event_name"]) == ("INFO", event_name)


@pytest.mark.parametrize("event_name", ["ObjectCreated:Put", "ObjectRemoved:Delete"])
def test_a_key_outside_the_input_prefix_is_skipped_with_a_warning(
    stack, lambda_context, captured_output, s3_requests, event_name
):
    # GIVEN an image beside the input prefix (uploads/), and S3's event about it
    record = stack.upload("elsewhere/photo.jpg", JPEG)
    record["eventName"] = event_name

    # WHEN handled
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN it is skipped, with no request to S3, no output and no DLQ record
    [outcome] = result["outcomes"]
    assert (outcome["status"], outcome["reason"]) == ("skipped", "outside_input_prefix")
    assert s3_requests == []
    assert stack.output_keys() == []
    assert stack.dead_letters() == []
    # AND a warning names the prefix: the notification's filter is wider than the function's
    logs, _ = captured_output()
    [line] = [line for line in logs if line["level"] == "WARNING"]
    assert "outside the input prefix" in line["message"]
    assert line["input_prefix"] == "uploads/"


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_batch_task_outside_the_input_prefix_succeeds_as_skipped(
    stack, lambda_context, s3_requests, schema
):
    # GIVEN a Batch Operations job over the whole bucket, which lists an image outside uploads/
    stack.s3.put_object(Bucket=stack.input_bucket, Key="archive/2019/photo.jpg", Body=JPEG)
    event = batch_event(schema, stack.input_bucket, "archive/2019/photo.jpg")

    # WHEN its task runs
    response = app.lambda_handler(event, lambda_context)

    # THEN the task succeeds as skipped (nothing to retry, nothing bad), and nothing is touched
    [result] = response["results"]
    assert (result["resultCode"], result["resultString"]) == (
        "Succeeded",
        "skipped: outside_input_prefix",
    )
    assert s3_requests == []
    assert stack.output_keys() == []
    assert stack.dead_letters() == []

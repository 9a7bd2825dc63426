"""S3 Batch Operations invoking the real handler (schema 1.0 and 2.0), against moto."""

import copy
from urllib.parse import quote_plus

import pytest

import app
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import load_event

JPEG = encode(photo(900, 600), "JPEG")
SCHEMAS = ["1.0", "2.0"]


def batch_event(schema: str, bucket: str, key: str) -> dict:
    """A Batch Operations invocation for one object, shaped as S3 sends it for `schema`."""
    event = copy.deepcopy(load_event(f"batch-operations-{schema}.json"))
    [task] = event["tasks"]
    task["s3Key"] = quote_plus(key, safe="/")
    if schema == "1.0":
        task["s3BucketArn"] = f"arn:aws:s3:::{bucket}"
    else:
        task["s3Bucket"] = bucket
    return event


def only_result(response: dict) -> dict:
    [result] = response["results"]
    return result


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_task_makes_thumbnails_and_succeeds(stack, lambda_context, schema):
    # GIVEN an image uploaded before the stack existed (no event was ever sent)
    stack.s3.put_object(Bucket=stack.input_bucket, Key="uploads/holiday/beach day.jpg", Body=JPEG)
    event = batch_event(schema, stack.input_bucket, "uploads/holiday/beach day.jpg")

    # WHEN Batch Operations invokes the function for it
    response = app.lambda_handler(event, lambda_context)

    # THEN the response echoes the invocation and reports the task as succeeded
    assert response == {
        "invocationSchemaVersion": schema,
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": event["invocationId"],
        "results": [
            {
                "taskId": event["tasks"][0]["taskId"],
                "resultCode": "Succeeded",
                "resultString": "written: 2 thumbnails",
            }
        ],
    }
    # AND the thumbnails are named after the decoded key
    assert stack.output_keys() == ["holiday/beach day_128w.webp", "holiday/beach day_512w.webp"]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_bad_object_is_a_permanent_failure_with_its_reason(stack, lambda_context, schema):
    # GIVEN a truncated image
    stack.s3.put_object(Bucket=stack.input_bucket, Key="uploads/cut.jpg", Body=JPEG[:2000])

    # WHEN a task names it
    response = app.lambda_handler(
        batch_event(schema, stack.input_bucket, "uploads/cut.jpg"), lambda_context
    )

    # THEN the task failed for good, with the reason code first; the invocation did not raise
    result = only_result(response)
    assert result["resultCode"] == "PermanentFailure"
    assert result["resultString"].startswith("truncated_image: ")
    # AND the job's completion report is its record: nothing went to the dead-letter queue
    assert stack.dead_letters() == []
    assert stack.output_keys() == []


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_failing_dependency_is_a_temporary_failure(stack, lambda_context, schema):
    # GIVEN the output bucket is gone (S3 answers NoSuchBucket: retrying may help later)
    stack.s3.put_object(Bucket=stack.input_bucket, Key="uploads/ok.jpg", Body=JPEG)
    stack.s3.delete_bucket(Bucket=stack.output_bucket)

    # WHEN a task names a good image
    response = app.lambda_handler(
        batch_event(schema, stack.input_bucket, "uploads/ok.jpg"), lambda_context
    )

    # THEN Batch Operations is told to retry the task, and the invocation still answers
    result = only_result(response)
    assert result["resultCode"] == "TemporaryFailure"
    assert "NoSuchBucket" in result["resultString"]


def test_an_up_to_date_object_succeeds_without_work(stack, lambda_context):
    # GIVEN an object whose thumbnails were made by its upload event
    record = stack.upload("uploads/done.jpg", JPEG)
    app.lambda_handler({"Records": [record]}, lambda_context)

    # WHEN a batch job reaches it
    response = app.lambda_handler(
        batch_event("2.0", stack.input_bucket, "uploads/done.jpg"), lambda_context
    )

    # THEN it succeeds as already done
    assert only_result(response)["resultCode"] == "Succeeded"
    assert only_result(response)["resultString"] == "ignored: up_to_date"


def test_an_object_deleted_since_the_manifest_succeeds_as_skipped(stack, lambda_context):
    # GIVEN a manifest entry whose object no longer exists
    event = batch_event("1.0", stack.input_bucket, "uploads/gone.jpg")
    # WHEN invoked / THEN nothing is written and the task is not counted as a failure
    result = only_result(app.lambda_handler(event, lambda_context))
    assert (result["resultCode"], result["resultString"]) == (
        "Succeeded",
        "skipped: object_missing",
    )
    assert stack.output_keys() == []

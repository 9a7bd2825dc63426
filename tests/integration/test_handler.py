"""The real handler, end to end, against moto: uploads in, thumbnails and DLQ records out."""

import dataclasses
from io import BytesIO

import pytest
from botocore.exceptions import ClientError
from PIL import Image

import app
from scripts.support.sample_images import encode, gif_with_oversized_frame, photo, transparent_logo
from tests.integration.conftest import event_of, load_event
from thumbnailer.errors import TransientError
from thumbnailer.models import SourceObject, Status
from thumbnailer.processing import ThumbnailService
from thumbnailer.settings import DEFAULT_CACHE_CONTROL, Settings
from thumbnailer.storage import DeadLetterQueue, ObjectStore

JPEG = encode(photo(1200, 800), "JPEG")


def test_an_upload_becomes_two_webp_thumbnails(stack, lambda_context):
    # GIVEN a JPEG uploaded under a nested, awkward key
    record = stack.upload("uploads/My Photos/été 2024+fun (1).jpg", JPEG)

    # WHEN S3's event reaches the handler
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN both thumbnails are in the output bucket under the decoded name
    expected = ["My Photos/été 2024+fun (1)_128w.webp", "My Photos/été 2024+fun (1)_512w.webp"]
    assert stack.output_keys() == expected
    for key, width in zip(expected, (128, 512), strict=True):
        obj = stack.s3.get_object(Bucket=stack.output_bucket, Key=key)
        assert obj["ContentType"] == "image/webp"
        assert obj["CacheControl"] == DEFAULT_CACHE_CONTROL
        image = Image.open(BytesIO(obj["Body"].read()))
        assert (image.format, image.size) == ("WEBP", (width, width * 2 // 3))
    assert result["outcomes"][0]["status"] == "written"
    assert stack.dead_letters() == []


def test_dots_in_folders_and_names_keep_all_but_the_last_extension(stack, lambda_context):
    record = stack.upload("uploads/a.b/photo.v2.final.jpeg", JPEG)
    app.lambda_handler(event_of(record), lambda_context)
    assert stack.output_keys() == ["a.b/photo.v2.final_128w.webp", "a.b/photo.v2.final_512w.webp"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty_object"),
        (b"just some text, certainly not a picture", "not_an_image"),
        (encode(photo(64, 64), "ICO"), "unsupported_format"),
        (JPEG[: len(JPEG) // 3], "truncated_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "corrupt_image"),
        (encode(photo(64, 64), "TGA"), "unsupported_format"),  # recognised with no signature
        # A frame larger than its canvas: Pillow's DecompressionBombError, once retried in vain
        (gif_with_oversized_frame((20_000, 20_000)), "too_many_pixels"),
    ],
)
def test_a_bad_object_gets_exactly_one_dlq_record_and_no_output(
    stack, lambda_context, data, reason
):
    # GIVEN a bad upload
    record = stack.upload("uploads/bad/file.jpg", data)

    # WHEN handled: it does not raise (retrying cannot help)
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN one classified record is in the DLQ, and nothing was written
    dead = stack.dead_letters()
    assert len(dead) == 1
    assert dead[0]["bucket"] == stack.input_bucket
    assert dead[0]["key"] == "uploads/bad/file.jpg"
    assert dead[0]["reason"] == reason
    assert dead[0]["message"]
    assert dead[0]["retryable"] is False
    assert stack.output_keys() == []
    assert result["outcomes"][0] == {
        "key": "uploads/bad/file.jpg",
        "status": "rejected",
        "reason": reason,
        "thumbnails": {},
    }


def test_too_many_pixels_is_reported(stack, lambda_context, monkeypatch):
    # GIVEN a function limited to 1 MP, and a 2 MP upload
    limited = dataclasses.replace(app.SETTINGS, max_input_pixels=1_000_000)
    monkeypatch.setattr(app, "SETTINGS", limited)
    record = stack.upload("uploads/huge.png", encode(photo(2000, 1000), "PNG"))
    # WHEN handled / THEN refused to the DLQ
    app.lambda_handler(event_of(record), lambda_context)
    assert [d["reason"] for d in stack.dead_letters()] == ["too_many_pixels"]
    assert stack.output_keys() == []


def test_the_dlq_record_carries_what_a_replay_needs(stack, lambda_context, monkeypatch):
    # GIVEN a function with renditions configured, and a broken upload
    renditions = dataclasses.replace(
        app.SETTINGS,
        output_formats=("avif", "webp"),
        avif_quality=61,
        crop_sizes=((256, 256), (1200, 630)),
        write_manifest=True,
    )
    monkeypatch.setattr(app, "SETTINGS", renditions)
    record = stack.upload("uploads/x/broken.gif", b"GIF89a-broken")
    # WHEN it is handled
    app.lambda_handler(event_of(record), lambda_context)
    # THEN its DLQ record names the object and every setting in force
    [dead] = stack.dead_letters()
    assert dead["etag"] == record["s3"]["object"]["eTag"]
    assert dead["size"] == len(b"GIF89a-broken")
    assert dead["s3_request_id"] == "C3D13FE58DE4C810"
    assert dead["settings"] == {
        "thumb_sizes": [128, 512],
        "webp_quality": 85,
        "input_prefix": "uploads/",
        "output_formats": ["avif", "webp"],
        "avif_quality": 61,
        "crop_sizes": ["256x256", "1200x630"],
        "write_manifest": True,
    }
    assert dead["schema"].startswith("serverless-image-pipeline/failure/")


def test_one_bad_record_does_not_stop_the_others(stack, lambda_context):
    # GIVEN an event with a good PNG, a corrupt file and a good JPEG
    records = [
        stack.upload("uploads/one.png", encode(transparent_logo(), "PNG")),
        stack.upload("uploads/two.jpg", b"\xff\xd8\xff\xe0 not really"),
        stack.upload("uploads/three.jpg", JPEG),
    ]
    # WHEN handled together
    app.lambda_handler(event_of(*records), lambda_context)
    # THEN both good uploads have thumbnails and the bad one is in the DLQ
    assert stack.output_keys() == [
        "one_128w.webp",
        "one_512w.webp",
        "three_128w.webp",
        "three_512w.webp",
    ]
    assert [d["key"] for d in stack.dead_letters()] == ["uploads/two.jpg"]


def test_a_vanished_object_is_skipped_with_a_warning(stack, lambda_context, captured_output):
    # GIVEN an event for an object deleted before the function ran
    record = stack.upload("uploads/gone.jpg", JPEG)
    stack.s3.delete_object(Bucket=stack.input_bucket, Key="uploads/gone.jpg")
    # WHEN handled
    result = app.lambda_handler(event_of(record), lambda_context)
    # THEN nothing is written, nothing goes to the DLQ, and a warning says why
    assert result["outcomes"][0]["status"] == "skipped"
    assert stack.output_keys() == []
    assert stack.dead_letters() == []
    logs, _ = captured_output()
    warnings = [line for line in logs if line["level"] == "WARNING"]
    assert any("no longer exists" in line["message"] for line in warnings)


def test_s3_test_events_and_folder_markers_are_ignored_quietly(
    stack, lambda_context, captured_output
):
    # GIVEN S3's test event and a "folder" marker upload
    marker = stack.upload("uploads/new folder/", b"")
    # WHEN handled
    assert app.lambda_handler(load_event("s3-test-event.json"), lambda_context) == {"outcomes": []}
    result = app.lambda_handler(event_of(marker), lambda_context)
    # THEN nothing happens, and nothing is logged above INFO
    assert result["outcomes"][0]["status"] == "ignored"
    assert stack.output_keys() == []
    assert stack.dead_letters() == []
    logs, _ = captured_output()
    levels = {line["level"] for line in logs}
    assert levels <= {"INFO", "DEBUG"}


def test_a_missing_output_bucket_raises_so_lambda_retries(stack, lambda_context):
    # GIVEN the output bucket does not exist
    stack.s3.delete_bucket(Bucket=stack.output_bucket)
    record = stack.upload("uploads/photo.jpg", JPEG)
    # WHEN handled / THEN it raises (Lambda retries, then the event reaches the DLQ)
    with pytest.raises(TransientError, match=r"uploads/photo\.jpg"):
        app.lambda_handler(event_of(record), lambda_context)
    # AND the function did not report it as a bad object itself
    assert stack.dead_letters() == []


def test_s3_throttling_raises_but_the_rest_of_the_batch_is_processed(
    stack, lambda_context, monkeypatch
):
    # GIVEN S3 throttles reads of one key
    records = [stack.upload("uploads/slow.jpg", JPEG), stack.upload("uploads/fine.jpg", JPEG)]
    real_read = ObjectStore.read

    def flaky_read(self, bucket, key, **kwargs):
        if key == "uploads/slow.jpg":
            error = {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}
            try:
                raise ClientError(error, "GetObject")
            except ClientError as exc:
                raise TransientError("S3 GetObject failed: SlowDown") from exc
        return real_read(self, bucket, key, **kwargs)

    monkeypatch.setattr(ObjectStore, "read", flaky_read)
    # WHEN handled / THEN the event fails (to be retried) ...
    with pytest.raises(TransientError, match=r"slow\.jpg"):
        app.lambda_handler(event_of(*records), lambda_context)
    # ... after the healthy record was still processed
    assert stack.output_keys() == ["fine_128w.webp", "fine_512w.webp"]


def test_a_read_error_from_s3_becomes_a_transient_error(stack):
    # GIVEN the input bucket is gone (S3 answers NoSuchBucket, not NoSuchKey)
    store = ObjectStore()
    # WHEN read / THEN the error says retrying may help
    with pytest.raises(TransientError, match="NoSuchBucket"):
        store.read("no-such-bucket", "uploads/x.jpg", max_bytes=10**6)


def test_an_unreachable_dlq_raises_instead_of_losing_the_record(stack, lambda_context):
    # GIVEN a bad upload and a deleted DLQ
    record = stack.upload("uploads/bad.jpg", b"not an image")
    stack.sqs.delete_queue(QueueUrl=stack.dlq_url)
    # WHEN handled / THEN it raises, so Lambda's retries and its own DLQ keep the event
    with pytest.raises(TransientError):
        app.lambda_handler(event_of(record), lambda_context)


def test_a_fifo_dlq_keeps_one_record_per_bad_version_however_often_it_is_reported(stack):
    # GIVEN a FIFO dead-letter queue, as the template makes, and two bad versions of one key
    url = stack.sqs.create_queue(QueueName="dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    stack.dlq_url = url
    service = ThumbnailService(app.SETTINGS, ObjectStore(), DeadLetterQueue(url))

    def bad_upload(data: bytes) -> SourceObject:
        record = stack.upload("uploads/bad.jpg", data)["s3"]["object"]
        return SourceObject(
            bucket=stack.input_bucket, key="uploads/bad.jpg", etag=record["eTag"], size=len(data)
        )

    # WHEN the first is reported three times (Lambda's retries, a duplicate S3 delivery: the
    # records' times differ), then the second is uploaded and reported
    first = bad_upload(b"not an image")
    outcomes = [service.process(first) for _ in range(3)]
    second = bad_upload(b"still not an image")
    outcomes.append(service.process(second))
    # THEN the queue holds one record for each version
    assert {outcome.status for outcome in outcomes} == {Status.REJECTED}
    assert sorted(record["etag"] for record in stack.dead_letters()) == sorted(
        [first.etag, second.etag]
    )


def test_output_inside_the_input_prefix_of_the_same_bucket_is_refused(stack):
    # GIVEN a misconfiguration: output bucket = input bucket, and an empty input prefix
    settings = Settings(output_bucket=stack.input_bucket, dlq_url=stack.dlq_url, input_prefix="")
    service = ThumbnailService(settings, ObjectStore(), DeadLetterQueue(stack.dlq_url))
    stack.s3.put_object(Bucket=stack.input_bucket, Key="photo.jpg", Body=JPEG)
    # WHEN processed
    outcome = service.process(SourceObject(bucket=stack.input_bucket, key="photo.jpg"))
    # THEN it is refused rather than looping on its own thumbnails
    assert outcome.status is Status.REJECTED
    assert [d["reason"] for d in stack.dead_letters()] == ["recursion_risk"]
    assert stack.s3.list_objects_v2(Bucket=stack.input_bucket)["KeyCount"] == 1


def test_every_log_line_names_the_object_and_s3_request(stack, lambda_context, captured_output):
    record = stack.upload("uploads/logged.jpg", b"not an image")
    app.lambda_handler(event_of(record), lambda_context)
    logs, _ = captured_output()
    lines = [line for line in logs if "object_key" in line]
    assert lines, "expected processing log lines"
    for line in lines:
        assert line["object_key"] == "uploads/logged.jpg"
        assert line["s3_request_id"] == "C3D13FE58DE4C810"
        assert line["function_request_id"] == lambda_context.aws_request_id


def test_metrics_are_emitted_as_emf(stack, lambda_context, captured_output):
    # GIVEN one good and one bad upload
    records = [stack.upload("uploads/ok.jpg", JPEG), stack.upload("uploads/bad.jpg", b"nope")]
    # WHEN handled
    app.lambda_handler(event_of(*records), lambda_context)
    # THEN EMF blobs carry the throughput metrics and failures by reason
    _, blobs = captured_output()
    names = {
        metric["Name"]
        for blob in blobs
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert {"ThumbnailsWritten", "ProcessingTime", "BytesIn", "BytesOut", "Failures"} <= names
    main = next(blob for blob in blobs if "ThumbnailsWritten" in blob)
    assert main["ThumbnailsWritten"] == [2]
    failure = next(blob for blob in blobs if "Failures" in blob)
    assert failure["reason"] == "not_an_image"

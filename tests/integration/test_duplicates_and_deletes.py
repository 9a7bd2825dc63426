"""Repeat deliveries, events out of order, and deletes followed to the thumbnails (moto)."""

import copy
from io import BytesIO

from aws_lambda_powertools.utilities.data_classes import S3Event
from PIL import Image

import app
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import event_of
from thumbnailer.models import SourceObject, Status
from thumbnailer.processing import ThumbnailService
from thumbnailer.provenance import key_digest
from thumbnailer.settings import Settings
from thumbnailer.storage import DeadLetterQueue, ObjectStore

LANDSCAPE = encode(photo(1200, 600, seed=1), "JPEG")  # 2:1 -> 512x256
PORTRAIT = encode(photo(600, 1200, seed=2), "JPEG")  # 1:2 -> 512x1024
KEY = "uploads/album/photo.jpg"
THUMBS = ["album/photo_128w.webp", "album/photo_512w.webp"]


def with_sequencer(record, sequencer):
    record = copy.deepcopy(record)
    record["s3"]["object"]["sequencer"] = sequencer
    return record


def removed(record, sequencer, event_name="ObjectRemoved:Delete"):
    """The event S3 sends when the object of `record` is deleted: no ETag, no size."""
    record = copy.deepcopy(record)
    record["eventName"] = event_name
    record["s3"]["object"] = {"key": record["s3"]["object"]["key"], "sequencer": sequencer}
    return record


def thumbnail(stack, key):
    obj = stack.s3.get_object(Bucket=stack.output_bucket, Key=key)
    return obj["Metadata"], Image.open(BytesIO(obj["Body"].read())).size


def status_of(result):
    [outcome] = result["outcomes"]
    return outcome["status"], outcome["reason"]


def test_thumbnails_record_their_source_event_and_settings(stack, lambda_context):
    # GIVEN an upload whose event carries a sequencer
    record = with_sequencer(stack.upload(KEY, LANDSCAPE), "0066A1B2C3D4E5F601")
    # WHEN handled
    app.lambda_handler(event_of(record), lambda_context)
    # THEN every thumbnail says which key, ETag, event and settings made it
    for key in THUMBS:
        metadata, _ = thumbnail(stack, key)
        assert metadata["source-key-sha256"] == key_digest(KEY)
        assert metadata["source-etag"] == record["s3"]["object"]["eTag"]
        assert metadata["source-sequencer"] == "0066A1B2C3D4E5F601"
        assert metadata["thumbnail-settings"] == "widths=128,512;quality=85;rendition=1"
        assert len(metadata["settings-hash"]) == 16


def test_a_repeat_delivery_is_skipped_after_one_head_request(stack, lambda_context, reads):
    # GIVEN an upload already thumbnailed
    record = stack.upload(KEY, LANDSCAPE)
    app.lambda_handler(event_of(record), lambda_context)
    written = {key: stack.s3.head_object(Bucket=stack.output_bucket, Key=key) for key in THUMBS}

    # WHEN S3 delivers the same event again
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN it is skipped as up to date: the source was read only the first time
    assert status_of(result) == ("ignored", "up_to_date")
    assert reads == [KEY]
    for key in THUMBS:
        again = stack.s3.head_object(Bucket=stack.output_bucket, Key=key)
        assert again["ETag"] == written[key]["ETag"]
        assert again["LastModified"] == written[key]["LastModified"]


def test_the_same_source_under_new_settings_is_made_again(stack, lambda_context, reads):
    # GIVEN thumbnails made at quality 85
    record = stack.upload(KEY, LANDSCAPE)
    app.lambda_handler(event_of(record), lambda_context)
    # WHEN the same event is processed by a function configured for quality 60
    settings = Settings(output_bucket=stack.output_bucket, dlq_url=stack.dlq_url, webp_quality=60)
    service = ThumbnailService(settings, ObjectStore(), DeadLetterQueue(stack.dlq_url))
    outcome = service.process(SourceObject.from_s3_record(S3Event(event_of(record)).record))
    # THEN they are rewritten, and now record the new settings
    assert outcome.status is Status.WRITTEN
    assert reads == [KEY, KEY]
    metadata, _ = thumbnail(stack, THUMBS[1])
    assert metadata["thumbnail-settings"] == "widths=128,512;quality=60;rendition=1"


def test_an_older_event_never_overwrites_thumbnails_of_a_newer_upload(stack, lambda_context, reads):
    # GIVEN a landscape upload, then a portrait upload to the same key
    older = with_sequencer(stack.upload(KEY, LANDSCAPE), "0066A1B2C3D4E5F601")
    newer = with_sequencer(stack.upload(KEY, PORTRAIT), "0066A1B2C3D4E5F7")  # shorter, but later

    # WHEN S3 delivers the newer event first, then the older one
    first = app.lambda_handler(event_of(newer), lambda_context)
    second = app.lambda_handler(event_of(older), lambda_context)

    # THEN the older event is recognised from the thumbnails' sequencer, without reading
    assert status_of(first)[0] == "written"
    assert status_of(second) == ("ignored", "superseded")
    assert reads == [KEY]
    # AND the thumbnails are still the portrait's
    metadata, size = thumbnail(stack, THUMBS[1])
    assert size == (512, 1024)
    assert metadata["source-etag"] == newer["s3"]["object"]["eTag"]


def test_an_older_event_without_thumbnails_yet_reads_nothing_stale(stack, lambda_context):
    # GIVEN the object was replaced before its first event was handled (no thumbnails yet)
    older = stack.upload(KEY, LANDSCAPE)
    newer = stack.upload(KEY, PORTRAIT)

    # WHEN the older event arrives first
    result = app.lambda_handler(event_of(older), lambda_context)

    # THEN S3 refuses to hand over anything but the named ETag, so nothing stale is written
    assert status_of(result) == ("ignored", "superseded")
    assert stack.output_keys() == []
    # AND the newer event then makes the portrait's thumbnails
    app.lambda_handler(event_of(newer), lambda_context)
    assert thumbnail(stack, THUMBS[1])[1] == (512, 1024)
    assert stack.dead_letters() == []


def test_a_deleted_upload_takes_its_thumbnails_with_it(stack, lambda_context):
    # GIVEN thumbnails of an upload, and an unrelated upload's thumbnails
    record = with_sequencer(stack.upload(KEY, LANDSCAPE), "0066A1B2C3D4E5F601")
    other = stack.upload("uploads/album/other.jpg", LANDSCAPE)
    app.lambda_handler(event_of(record, other), lambda_context)

    # WHEN the upload is deleted and S3's ObjectRemoved event arrives
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    result = app.lambda_handler(event_of(removed(record, "0066A1B2C3D4E5F701")), lambda_context)

    # THEN exactly its thumbnails are gone
    assert result["outcomes"][0]["status"] == "deleted"
    assert sorted(result["outcomes"][0]["deleted"]) == THUMBS
    assert stack.output_keys() == ["album/other_128w.webp", "album/other_512w.webp"]


def test_a_delete_marker_in_a_versioned_bucket_also_deletes_them(stack, lambda_context):
    # GIVEN a versioned input bucket and a thumbnailed upload
    stack.s3.put_bucket_versioning(
        Bucket=stack.input_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    record = stack.upload(KEY, LANDSCAPE)
    app.lambda_handler(event_of(record), lambda_context)
    # WHEN it is deleted (a delete marker becomes the current version)
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    event = event_of(removed(record, "0066A1B2C3D4E5F701", "ObjectRemoved:DeleteMarkerCreated"))
    result = app.lambda_handler(event, lambda_context)
    # THEN the thumbnails are deleted too
    assert result["outcomes"][0]["status"] == "deleted"
    assert stack.output_keys() == []


def test_a_late_delete_event_keeps_the_thumbnails_of_a_new_upload(stack, lambda_context):
    # GIVEN an upload that was deleted and then uploaded again, thumbnailed from the new one
    record = stack.upload(KEY, LANDSCAPE)
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    again = stack.upload(KEY, PORTRAIT)
    app.lambda_handler(event_of(again), lambda_context)

    # WHEN the delete's event arrives only now
    result = app.lambda_handler(event_of(removed(record, "0066A1B2C3D4E5F6FF")), lambda_context)

    # THEN the key has an object again, so its thumbnails stay
    assert status_of(result) == ("ignored", "source_exists")
    assert stack.output_keys() == THUMBS


def test_deleting_one_source_keeps_thumbnails_another_source_made(stack, lambda_context):
    # GIVEN photo.png made the thumbnails that photo.jpg would also be named after
    png = stack.upload("uploads/album/photo.png", encode(photo(300, 300), "PNG"))
    app.lambda_handler(event_of(png), lambda_context)
    jpg = stack.upload(KEY, b"")  # never thumbnailed: it is empty

    # WHEN photo.jpg is deleted
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    result = app.lambda_handler(event_of(removed(jpg, "0066A1B2C3D4E5F701")), lambda_context)

    # THEN the png's thumbnails stay: their metadata names another source key
    assert status_of(result) == ("ignored", "nothing_to_delete")
    assert stack.output_keys() == THUMBS

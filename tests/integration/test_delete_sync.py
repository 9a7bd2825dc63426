"""Delete sync against moto, where it must hold back: outputs a later upload made outlive an
earlier delete's late event, and a manifest that cannot be read limits a delete to the
renditions the function is configured for."""

import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event

import app
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import event_of
from tests.integration.test_duplicates_and_deletes import removed, with_sequencer
from thumbnailer.models import SourceObject, Status
from thumbnailer.processing import ThumbnailService
from thumbnailer.settings import Settings
from thumbnailer.storage import DeadLetterQueue, ObjectStore

KEY = "uploads/album/photo.jpg"
LANDSCAPE = encode(photo(1200, 600, seed=1), "JPEG")
PORTRAIT = encode(photo(600, 1200, seed=2), "JPEG")
THUMBS = ["album/photo_128w.webp", "album/photo_512w.webp"]


def test_a_late_delete_spares_the_outputs_of_an_upload_after_it(stack, lambda_context):
    # GIVEN a key uploaded (event A), deleted (B), uploaded again (C), whose outputs C's event
    # made, then deleted again (D); B's and D's events not handled yet
    first = with_sequencer(stack.upload(KEY, LANDSCAPE), "0066A1B2C3D4E5F601")
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    again = with_sequencer(stack.upload(KEY, PORTRAIT), "0066A1B2C3D4E5F801")
    app.lambda_handler(event_of(again), lambda_context)
    assert stack.output_keys() == THUMBS
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)

    # WHEN the first delete's event (B) arrives late, with no object at the key
    late = app.lambda_handler(event_of(removed(first, "0066A1B2C3D4E5F701")), lambda_context)

    # THEN it leaves C's outputs alone: they are not its to delete
    assert [(o["status"], o["reason"]) for o in late["outcomes"]] == [
        ("ignored", "nothing_to_delete")
    ]
    assert stack.output_keys() == THUMBS
    # AND the second delete's event (D) removes them
    last = app.lambda_handler(event_of(removed(again, "0066A1B2C3D4E5F901")), lambda_context)
    assert last["outcomes"][0]["status"] == "deleted"
    assert stack.output_keys() == []


EVERYTHING = {
    "output_formats": ("webp", "avif"),
    "crop_sizes": ((256, 256),),
    "write_manifest": True,
}
MANIFEST = "album/photo.json"
CROPS = ["album/photo_256x256.avif", "album/photo_256x256.webp"]


def service_with(stack, **renditions) -> ThumbnailService:
    settings = Settings(output_bucket=stack.output_bucket, dlq_url=stack.dlq_url, **renditions)
    return ThumbnailService(settings, ObjectStore(), DeadLetterQueue(stack.dlq_url))


def source_of(record) -> SourceObject:
    return SourceObject.from_s3_record(S3Event(event_of(record)).record)


@pytest.mark.parametrize(
    "manifest",
    [
        b'{"schema": "serverless-image-pipeline/manif',  # cut short: not JSON
        b"\xff\xfe\x00{",  # not text
        b"[]",  # JSON, but no object
        b'{"renditions": 5}',  # no list of renditions
        b'{"renditions": ["album/photo_256x256.webp"]}',  # renditions that are not objects
        b'{"renditions": [{"format": "webp"}]}',  # a rendition without a key
        b" " * (2**20 + 1),  # larger than any manifest
    ],
    ids=["cut", "binary", "list", "number", "strings", "no-key", "too-large"],
)
def test_an_unreadable_manifest_does_not_limit_a_delete(stack, captured_output, manifest):
    # GIVEN every rendition of an upload, crops included, made with a manifest
    record = with_sequencer(stack.upload(KEY, LANDSCAPE), "0000000000000000A0")
    assert service_with(stack, **EVERYTHING).process(source_of(record)).status is Status.WRITTEN
    # AND the manifest since overwritten with something that is no manifest
    stack.s3.put_object(Bucket=stack.output_bucket, Key=MANIFEST, Body=manifest)

    # WHEN the upload is deleted, and its event reaches a function configured without crops
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    outcome = service_with(stack).process(source_of(removed(record, "0000000000000000B0")))

    # THEN every output of the name is deleted, the crops that only the manifest listed too:
    # deletes find the outputs by listing the name's prefix (issue 18), not from the manifest
    assert outcome.status is Status.DELETED
    assert MANIFEST in outcome.deleted
    assert set(CROPS) <= set(outcome.deleted)
    assert stack.output_keys() == []
    # AND nothing was worth a warning, and nothing went to the dead-letter queue
    logs, _ = captured_output()
    assert [line["message"] for line in logs if line["level"] == "WARNING"] == []
    assert stack.dead_letters() == []


def test_a_readable_manifest_takes_the_crops_with_it(stack):
    # GIVEN the same set, its manifest intact / WHEN deleted under the same configuration
    record = with_sequencer(stack.upload(KEY, LANDSCAPE), "0000000000000000A0")
    service_with(stack, **EVERYTHING).process(source_of(record))
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    outcome = service_with(stack).process(source_of(removed(record, "0000000000000000B0")))
    # THEN the crops it lists go too (the case the tests above fall back from)
    assert outcome.status is Status.DELETED
    assert set(CROPS) <= set(outcome.deleted)
    assert stack.output_keys() == []

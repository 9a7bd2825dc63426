"""Renditions end to end on moto: what is written, the manifest, and every operations path."""

import json
from io import BytesIO

from aws_lambda_powertools.utilities.data_classes import S3Event
from PIL import Image

import app
from scripts.support.sample_images import animation, encode, photo
from tests.integration.conftest import event_of
from tests.integration.test_duplicates_and_deletes import removed, with_sequencer
from thumbnailer.models import SourceObject, Status
from thumbnailer.processing import ThumbnailService
from thumbnailer.settings import Settings
from thumbnailer.storage import DeadLetterQueue, ObjectStore

KEY = "uploads/shop/bag.jpg"
PHOTO = encode(photo(1600, 1000, seed=4), "JPEG", quality=90)
EVERYTHING = {
    "output_formats": ("webp", "avif"),
    "crop_sizes": ((256, 256), (1200, 630)),
    "write_manifest": True,
}
RENDITIONS = [
    f"shop/bag_{name}.{fmt}"
    for fmt in ("webp", "avif")
    for name in ("128w", "512w", "256x256", "1200x630")
]


def service_for(stack, **renditions) -> ThumbnailService:
    settings = Settings(output_bucket=stack.output_bucket, dlq_url=stack.dlq_url, **renditions)
    return ThumbnailService(settings, ObjectStore(), DeadLetterQueue(stack.dlq_url))


def source_of(record) -> SourceObject:
    return SourceObject.from_s3_record(S3Event(event_of(record)).record)


def written_order(monkeypatch) -> list[str]:
    order: list[str] = []
    real_write = ObjectStore.write

    def recording_write(self, bucket, key, data, **kwargs):
        order.append(key)
        return real_write(self, bucket, key, data, **kwargs)

    monkeypatch.setattr(ObjectStore, "write", recording_write)
    return order


def test_every_rendition_is_written_and_the_manifest_last_lists_exactly_them(stack, monkeypatch):
    # GIVEN a function with every rendition turned on
    order = written_order(monkeypatch)
    record = stack.upload(KEY, PHOTO)
    # WHEN an upload is processed
    outcome = service_for(stack, **EVERYTHING).process(source_of(record))
    # THEN each width and crop is in both formats, and the manifest was written last
    assert outcome.status is Status.WRITTEN
    assert stack.output_keys() == sorted([*RENDITIONS, "shop/bag.json"])
    assert order[-1] == "shop/bag.json"
    assert outcome.manifest == "shop/bag.json"
    # AND the manifest lists exactly the objects written, with their real sizes and types
    got = stack.s3.get_object(Bucket=stack.output_bucket, Key="shop/bag.json")
    assert got["ContentType"] == "application/json"
    manifest = json.loads(got["Body"].read())
    assert manifest["schema"] == "serverless-image-pipeline/manifest/v1"
    assert manifest["source"] == {
        "bucket": stack.input_bucket,
        "key": KEY,
        "version_id": None,
        "etag": record["s3"]["object"]["eTag"],
        "format": "JPEG",
        "width": 1600,
        "height": 1000,
        "bytes": len(PHOTO),
    }
    listed = {item["key"]: item for item in manifest["renditions"]}
    assert sorted(listed) == sorted(RENDITIONS)
    for key, item in listed.items():
        obj = stack.s3.get_object(Bucket=stack.output_bucket, Key=key)
        body = obj["Body"].read()
        image = Image.open(BytesIO(body))
        assert item["bytes"] == len(body)
        assert (item["width"], item["height"]) == image.size
        assert item["format"] == image.format.lower() == key.rsplit(".", 1)[1]
        assert obj["ContentType"] == f"image/{item['format']}"
    assert 0 <= manifest["focus"]["x"] <= 1
    assert 0 <= manifest["focus"]["y"] <= 1
    assert manifest["placeholder"]["algorithm"] == "blurhash"
    assert len(manifest["placeholder"]["hash"]) == 28  # 4x3 components
    assert manifest["placeholder"]["color"].startswith("#")


def test_nothing_configured_writes_what_it_wrote_before(stack, lambda_context):
    app.lambda_handler(event_of(stack.upload(KEY, PHOTO)), lambda_context)
    assert stack.output_keys() == ["shop/bag_128w.webp", "shop/bag_512w.webp"]


def test_an_animation_gets_no_avif_and_the_manifest_says_so(stack):
    frames = [photo(300, 200, seed=seed) for seed in range(3)]
    gif = animation(frames, "GIF", durations=[80] * 3, loop=0)
    service_for(stack, **EVERYTHING).process(source_of(stack.upload("uploads/a.gif", gif)))
    keys = stack.output_keys()
    assert not [key for key in keys if key.endswith(".avif")]
    manifest = json.loads(
        stack.s3.get_object(Bucket=stack.output_bucket, Key="a.json")["Body"].read()
    )
    assert sorted(item["key"] for item in manifest["renditions"]) == sorted(
        key for key in keys if key != "a.json"
    )


def test_an_avif_only_animation_repeat_is_a_duplicate_and_writes_nothing(stack, reads, monkeypatch):
    # GIVEN AVIF only (an animation still gets WebP), and an animated upload processed once
    gif = animation([photo(300, 200, seed=seed) for seed in range(3)], "GIF", durations=[80] * 3)
    record = stack.upload("uploads/a.gif", gif)
    service = service_for(stack, output_formats=("avif",), crop_sizes=((64, 64),))
    order = written_order(monkeypatch)
    first = service.process(source_of(record))
    assert first.status is Status.WRITTEN
    # ... its largest WebP thumbnail last, the key the duplicate check reads
    assert order[-1] == "a_512w.webp"
    del order[:]
    # WHEN the same event arrives again
    again = service.process(source_of(record))
    # THEN it is a duplicate: skipped without reading the source or writing anything
    assert (again.status, again.reason) == (Status.IGNORED, "up_to_date")
    assert reads == ["uploads/a.gif"]
    assert order == []


def test_a_repeat_is_skipped_and_a_changed_rendition_set_is_remade(stack, reads):
    record = stack.upload(KEY, PHOTO)
    first = service_for(stack, **EVERYTHING).process(source_of(record))
    # WHEN the same event comes again, with the same settings
    again = service_for(stack, **EVERYTHING).process(source_of(record))
    # THEN it is skipped from the manifest's metadata alone
    assert (first.status, again.status, again.reason) == (
        Status.WRITTEN,
        Status.IGNORED,
        "up_to_date",
    )
    assert reads == [KEY]
    # WHEN the crops change (as after a redeploy; a backfill sends the same kind of event)
    changed = service_for(stack, **{**EVERYTHING, "crop_sizes": ((100, 100),)})
    assert changed.process(source_of(record)).status is Status.WRITTEN
    assert "shop/bag_100x100.avif" in stack.output_keys()


def test_an_older_event_does_not_overwrite_the_set(stack):
    record = with_sequencer(stack.upload(KEY, PHOTO), "00000000000000000B")
    service = service_for(stack, **EVERYTHING)
    service.process(source_of(record))
    older = service.process(source_of(with_sequencer(record, "00000000000000000A")))
    assert (older.status, older.reason) == (Status.IGNORED, "superseded")


def test_a_delete_removes_every_rendition_and_the_manifest_first(stack, monkeypatch):
    record = with_sequencer(stack.upload(KEY, PHOTO), "0000000000000000A0")
    service = service_for(stack, **EVERYTHING)
    service.process(source_of(record))
    stack.s3.delete_object(Bucket=stack.input_bucket, Key=KEY)
    deletes: list[str] = []
    real_delete = ObjectStore.delete

    def recording_delete(self, bucket, key):
        deletes.append(key)
        return real_delete(self, bucket, key)

    monkeypatch.setattr(ObjectStore, "delete", recording_delete)
    # WHEN the delete event comes, to a function with the renditions since turned off
    outcome = service_for(stack).process(source_of(removed(record, "0000000000000000B0")))
    # THEN the manifest went first, and every rendition it listed, crops and AVIF included
    assert outcome.status is Status.DELETED
    assert deletes[0] == "shop/bag.json"
    assert stack.output_keys() == []


def test_the_notification_names_every_key_written(stack):
    from thumbnailer.notifications import notification_for

    outcome = service_for(stack, **EVERYTHING).process(source_of(stack.upload(KEY, PHOTO)))
    message = notification_for(outcome, stack.output_bucket).message
    assert sorted(item["key"] for item in message["thumbnails"]) == sorted(RENDITIONS)
    assert message["manifest"] == {"bucket": stack.output_bucket, "key": "shop/bag.json"}


RENDITIONS_ENV = {"OUTPUT_FORMATS": "webp,avif", "CROP_SIZES": "256x256", "WRITE_MANIFEST": "true"}
ALL_OF_BAG = [
    "shop/bag.json",
    *(f"shop/bag_{n}.{f}" for f in ("avif", "webp") for n in ("128w", "256x256", "512w")),
]


def test_a_backfill_remakes_objects_whose_rendition_set_changed(
    stack, capsys, monkeypatch, tmp_path
):
    from scripts.ops import backfill

    monkeypatch.chdir(tmp_path)
    stack.s3.put_object(Bucket=stack.input_bucket, Key=KEY, Body=PHOTO)
    assert backfill.main(["--bucket", stack.input_bucket]) == 0
    assert stack.output_keys() == ["shop/bag_128w.webp", "shop/bag_512w.webp"]
    # WHEN the renditions are turned on and the backfill runs again
    for name, value in RENDITIONS_ENV.items():
        monkeypatch.setenv(name, value)
    assert backfill.main(["--bucket", stack.input_bucket]) == 0
    # THEN the object counted as stale and got every rendition and its manifest
    assert "written 1   up to date 0" in capsys.readouterr().out
    assert stack.output_keys() == sorted(ALL_OF_BAG)


def test_batch_operations_make_every_rendition(stack, lambda_context, monkeypatch):
    from tests.integration.test_batch_operations import batch_event, only_result

    for name, value in RENDITIONS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(app, "SETTINGS", Settings.from_env())
    app.thumbnail_service.cache_clear()
    stack.s3.put_object(Bucket=stack.input_bucket, Key=KEY, Body=PHOTO)
    # WHEN S3 Batch Operations names the object
    result = only_result(
        app.lambda_handler(batch_event("2.0", stack.input_bucket, KEY), lambda_context)
    )
    # THEN it succeeds with every rendition and the manifest
    assert result["resultCode"] == "Succeeded"
    assert stack.output_keys() == sorted(ALL_OF_BAG)


def test_auto_quality_records_each_quality_and_score_and_a_new_target_remakes_the_set(stack):
    # GIVEN a function with AUTO_QUALITY on (WebP, a 256x256 crop, the manifest)
    on = {"crop_sizes": ((256, 256),), "write_manifest": True, "auto_quality": True}
    record = stack.upload(KEY, PHOTO)
    # WHEN an upload is processed
    first = service_for(stack, **on).process(source_of(record))
    manifest = json.loads(
        stack.s3.get_object(Bucket=stack.output_bucket, Key="shop/bag.json")["Body"].read()
    )
    items = {item["key"]: item for item in manifest["renditions"]}
    # THEN the measured renditions carry a quality and a score that reaches the target; the
    # 128w one (too small to measure) the quality of the smallest measured one, and no score
    assert first.status is Status.WRITTEN
    for key in ("shop/bag_512w.webp", "shop/bag_256x256.webp"):
        assert items[key]["score"] >= 75
        assert 50 <= items[key]["quality"] <= 95
    assert "score" not in items["shop/bag_128w.webp"]
    assert items["shop/bag_128w.webp"]["quality"] == items["shop/bag_256x256.webp"]["quality"]
    # AND the same settings again are up to date, while another target remakes the set
    assert service_for(stack, **on).process(source_of(record)).status is Status.IGNORED
    remade = service_for(stack, **on, quality_target=85).process(source_of(record))
    assert remade.status is Status.WRITTEN

"""`scripts/ops/backfill.py` against moto: skips what is up to date, resumes where it stopped."""

import json

import pytest

import app
from scripts.ops import backfill
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import event_of
from thumbnailer.errors import TransientError
from thumbnailer.processing import ThumbnailService
from thumbnailer.storage import ObjectStore

JPEG = encode(photo(640, 480), "JPEG")
KEYS = [f"uploads/old/{name}.jpg" for name in "abcde"]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # ./out/logs and the default checkpoint land here


def seed(stack, keys=KEYS):
    """Objects uploaded before the stack existed: no event ever came for them."""
    for key in keys:
        stack.s3.put_object(Bucket=stack.input_bucket, Key=key, Body=JPEG)


def run(capsys, *args):
    code = backfill.main(["--bucket", "uploads-in", "--workers", "2", *args])
    return code, capsys.readouterr().out


def thumbnails_of(stack, names):
    return [f"old/{name}_{width}w.webp" for name in names for width in (128, 512)]


def test_only_objects_without_up_to_date_thumbnails_are_made(stack, lambda_context, capsys, reads):
    # GIVEN five old uploads, one of which was thumbnailed by its event
    seed(stack)
    app.lambda_handler(event_of(stack.upload(KEYS[0], JPEG)), lambda_context)
    reads.clear()

    # WHEN the prefix is backfilled
    code, out = run(capsys)

    # THEN the four others were made, and the up-to-date one was not even read
    assert code == 0
    assert "listed 5   written 4   up to date 1   bad 0   skipped 0   errors 0" in out
    assert sorted(reads) == KEYS[1:]
    assert stack.output_keys() == thumbnails_of(stack, "abcde")

    # AND a second run finds nothing to do
    reads.clear()
    _, again = run(capsys)
    assert "listed 5   written 0   up to date 5" in again
    assert reads == []


def test_new_settings_make_every_thumbnail_again(stack, capsys, monkeypatch):
    # GIVEN a finished backfill at the default quality
    seed(stack, KEYS[:2])
    run(capsys)
    # WHEN WebPQuality changes and the backfill runs again
    monkeypatch.setenv("WEBP_QUALITY", "60")
    _, out = run(capsys)
    # THEN every object is remade, under the new settings
    assert "listed 2   written 2   up to date 0" in out
    head = stack.s3.head_object(Bucket=stack.output_bucket, Key="old/a_512w.webp")
    assert head["Metadata"]["thumbnail-settings"] == "widths=128,512;quality=60;rendition=1"


def test_an_interrupted_backfill_resumes_after_the_last_finished_page(
    stack, capsys, monkeypatch, tmp_path
):
    # GIVEN five objects, listed two per page, and a Ctrl-C while the fourth is processed
    seed(stack)
    real_process = ThumbnailService.process

    def interrupted(self, source, **kwargs):
        if source.key == KEYS[3]:
            raise KeyboardInterrupt
        return real_process(self, source, **kwargs)

    monkeypatch.setattr(ThumbnailService, "process", interrupted)

    # WHEN it runs
    code, out = run(capsys, "--page-size", "2")

    # THEN it stops, with the first page (a, b) checkpointed
    assert code == 130
    assert "interrupted: run it again to resume" in out
    checkpoint = json.loads((tmp_path / "out/backfill-checkpoint.json").read_text())
    assert checkpoint["after"] == KEYS[1]

    # WHEN it runs again, uninterrupted
    monkeypatch.setattr(ThumbnailService, "process", real_process)
    code, out = run(capsys, "--page-size", "2")

    # THEN it resumes after b: only c, d, e are listed, and everything is done
    assert code == 0
    assert f"resuming after {KEYS[1]!r}" in out
    assert "listed 3" in out
    assert stack.output_keys() == thumbnails_of(stack, "abcde")
    assert not (tmp_path / "out/backfill-checkpoint.json").exists()


def test_limit_stops_early_and_the_next_run_continues(stack, capsys):
    seed(stack)
    # WHEN two runs of at most three objects each
    first_code, first = run(capsys, "--limit", "3")
    _, second = run(capsys, "--limit", "3")
    # THEN the first did a, b, c and the second the remaining two
    assert first_code == 0
    assert "listed 3   written 3" in first
    assert "checkpoint kept" in first
    assert "listed 2   written 2" in second
    assert stack.output_keys() == thumbnails_of(stack, "abcde")


def test_a_page_with_a_transient_error_is_retried_by_the_next_run(
    stack, capsys, monkeypatch, tmp_path
):
    # GIVEN S3 fails reading one object of the first page
    seed(stack)
    real_read = ObjectStore.read

    def flaky(self, bucket, key, **kwargs):
        if key == KEYS[0]:
            raise TransientError("S3 GetObject failed: SlowDown")
        return real_read(self, bucket, key, **kwargs)

    monkeypatch.setattr(ObjectStore, "read", flaky)
    code, out = run(capsys, "--page-size", "2")

    # THEN it finishes the rest, reports the error, exits 1, and checkpoints nothing past it
    assert code == 1
    assert f"{KEYS[0]}: S3 GetObject failed: SlowDown" in out
    assert "old/a_128w.webp" not in stack.output_keys()
    assert "old/e_128w.webp" in stack.output_keys()
    assert not (tmp_path / "out/backfill-checkpoint.json").exists()

    # AND the next run (S3 fine again) starts from the top and makes only what is missing
    monkeypatch.setattr(ObjectStore, "read", real_read)
    code, out = run(capsys, "--page-size", "2")
    assert code == 0
    assert "listed 5   written 1   up to date 4" in out


def test_bad_objects_are_listed_but_not_sent_to_the_dead_letter_queue(stack, capsys):
    seed(stack, KEYS[:1])
    stack.s3.put_object(Bucket=stack.input_bucket, Key="uploads/old/broken.jpg", Body=JPEG[:999])
    code, out = run(capsys)
    assert code == 0
    assert "bad 1" in out
    assert "  uploads/old/broken.jpg: truncated_image" in out
    assert stack.dead_letters() == []


def test_a_set_missing_one_rendition_is_made_again(stack, capsys, monkeypatch):
    # GIVEN a finished backfill writing WebP and AVIF, then one AVIF deleted by hand (the
    # marker, the last file written, is still there)
    monkeypatch.setenv("OUTPUT_FORMATS", "webp,avif")
    seed(stack, KEYS[:1])
    run(capsys)
    stack.s3.delete_object(Bucket=stack.output_bucket, Key="old/a_128w.avif")

    # WHEN the backfill runs again
    _, out = run(capsys)

    # THEN it checked every rendition, not only the marker, and made the set whole again
    assert "listed 1   written 1   up to date 0" in out
    assert "old/a_128w.avif" in stack.output_keys()

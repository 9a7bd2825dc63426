"""`scripts/invoke_local.sh PATH...` as a user runs it, from their own folder."""

import subprocess
from pathlib import Path

from scripts.support.sample_images import encode, photo, transparent_logo

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "invoke_local.sh"


def _invoke(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_your_images_become_thumbnails_next_to_a_summary(tmp_path):
    # GIVEN a folder of photos and a single file elsewhere, named relative to where we are
    (tmp_path / "my photos" / "trip").mkdir(parents=True)
    (tmp_path / "my photos" / "trip" / "sea.jpg").write_bytes(encode(photo(900, 600), "JPEG"))
    (tmp_path / "logo.png").write_bytes(encode(transparent_logo(), "PNG"))

    # WHEN the script runs on them
    result = _invoke(tmp_path, "my photos", "logo.png", "--out", "thumbs")

    # THEN it succeeds, and the thumbnails are in the output folder next to the summary table
    assert result.returncode == 0, result.stderr
    thumbs = tmp_path / "thumbs"
    assert sorted(p.relative_to(thumbs).as_posix() for p in thumbs.rglob("*.webp")) == [
        "logo_128w.webp",
        "logo_512w.webp",
        "trip/sea_128w.webp",
        "trip/sea_512w.webp",
    ]
    summary = (thumbs / "summary.txt").read_text()
    assert summary in result.stdout
    assert "uploads/trip/sea.jpg  JPEG 900x600" in summary
    assert "2 processed, 0 sent to the dead-letter queue" in summary


def test_any_failed_image_makes_it_fail_and_says_why(tmp_path):
    # GIVEN a good image and one of a format the function refuses
    (tmp_path / "ok.jpg").write_bytes(encode(photo(300, 200), "JPEG"))
    (tmp_path / "scan.ico").write_bytes(encode(photo(64, 64), "ICO"))

    # WHEN the script runs on both
    result = _invoke(tmp_path, "ok.jpg", "scan.ico", "--out", "thumbs")

    # THEN it exits 1, naming the failed image and its DLQ reason; the good one is done
    assert result.returncode == 1
    assert "1 of 2 image(s) failed: scan.ico" in result.stderr
    assert [line for line in result.stdout.splitlines() if "unsupported_format" in line]
    assert (tmp_path / "thumbs" / "ok_512w.webp").is_file()


def test_queue_mode_goes_through_the_ingest_queue_to_the_same_table(tmp_path):
    # GIVEN a good image and one of a format the function refuses
    (tmp_path / "ok.jpg").write_bytes(encode(photo(900, 600), "JPEG"))
    (tmp_path / "scan.ico").write_bytes(encode(photo(64, 64), "ICO"))

    # WHEN the script runs on both with IngestMode=queue
    result = _invoke(tmp_path, "--ingest-mode", "queue", "ok.jpg", "scan.ico", "--out", "thumbs")

    # THEN the function got them in SQS batches from the ingest queue
    assert result.returncode == 1
    assert "IngestMode=queue" in result.stdout.splitlines()[0]
    log = (tmp_path / "thumbs" / "logs" / "function.jsonl").read_text()
    assert '"sqs_message_id"' in log
    # AND the table is the same as in direct mode: thumbnails, or the DLQ reason and its
    # explanation
    lines = (tmp_path / "thumbs" / "summary.txt").read_text().splitlines()
    [ok] = [line for line in lines if line.startswith("uploads/ok.jpg")]
    assert "128x85" in ok
    assert "512x341" in ok
    [scan] = [line for line in lines if line.startswith("uploads/scan.ico")]
    assert "unsupported_format: ICO images are not accepted (accepted: " in scan
    assert "1 processed, 1 sent to the dead-letter queue" in result.stdout

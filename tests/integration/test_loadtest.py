"""`make loadtest`, small: 50 images through the local twin, and nothing is lost."""

from scripts.bench.loadtest import run


def test_fifty_uploads_each_end_with_all_thumbnails_or_one_dlq_record():
    # GIVEN 50 mixed images, 5 % of them broken, uploaded concurrently to the local pipeline
    # WHEN several function workers process S3's notifications
    report = run(50, workers=2, uploaders=4)

    # THEN the stores show every upload in exactly one place, as its content deserves
    assert report.verdict.holds, report.lines()
    assert len(report.verdict.completed) == 48
    assert len(report.verdict.dead_lettered) == 2
    assert report.misclassified == {}
    assert len(report.latencies) == 50


def test_in_queue_mode_too_nothing_is_lost():
    # GIVEN 20 mixed images, one of them broken, uploaded at once with IngestMode=queue
    # WHEN the event source mapping hands the function batches of S3's notifications
    report = run(20, workers=2, uploaders=4, ingest_mode="queue")

    # THEN the stores show every upload in exactly one place, as its content deserves
    assert report.verdict.holds, report.lines()
    assert len(report.verdict.completed) == 19
    assert len(report.verdict.dead_lettered) == 1
    assert report.misclassified == {}

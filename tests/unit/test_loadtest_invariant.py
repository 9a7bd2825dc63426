"""The load test's verdict: it must catch every way an upload can be lost or doubled."""

from collections import Counter

from scripts.bench.loadtest import BROKEN_EVERY, broken_images, check_invariant, corpus

EXPECTED = {
    "uploads/a.jpg": {"a_128w.webp", "a_512w.webp"},
    "uploads/b.jpg": {"b_128w.webp", "b_512w.webp"},
}


def test_all_thumbnails_or_exactly_one_dlq_record_holds():
    # GIVEN one upload with both thumbnails, one with a single DLQ record
    verdict = check_invariant(EXPECTED, {"a_128w.webp", "a_512w.webp"}, Counter(["uploads/b.jpg"]))
    # THEN the invariant holds, and each is counted where it ended
    assert verdict.holds
    assert (verdict.completed, verdict.dead_lettered) == (["uploads/a.jpg"], ["uploads/b.jpg"])


def test_neither_both_partial_duplicate_and_stray_outcomes_are_violations():
    # GIVEN a lost upload, one in both places, one with half its thumbnails and a duplicate
    # DLQ record, a DLQ record and a thumbnail that belong to no upload
    expected = EXPECTED | {"uploads/c.jpg": {"c_128w.webp", "c_512w.webp"}}
    outputs = {"b_128w.webp", "b_512w.webp", "c_128w.webp", "zzz_128w.webp"}
    dead = Counter(["uploads/b.jpg", "uploads/c.jpg", "uploads/c.jpg", "uploads/ghost.jpg"])

    verdict = check_invariant(expected, outputs, dead)

    # THEN each of them is reported, and the invariant fails
    assert not verdict.holds
    assert verdict.violations == {
        "uploads/a.jpg": "0 of 2 thumbnails and 0 DLQ record(s)",
        "uploads/b.jpg": "2 of 2 thumbnails and 1 DLQ record(s)",
        "uploads/c.jpg": "1 of 2 thumbnails and 2 DLQ record(s)",
        "uploads/ghost.jpg": "1 DLQ record(s) for no upload",
    }
    assert verdict.stray_outputs == ["zzz_128w.webp"]
    assert verdict.completed == verdict.dead_lettered == []


def test_the_corpus_is_five_percent_broken_in_every_way_with_unique_awkward_keys():
    uploads = corpus(1000)
    reasons = Counter(upload.expected_reason for upload in uploads if upload.expected_reason)
    assert sum(reasons.values()) == 1000 // BROKEN_EVERY == 50
    assert set(reasons) == {reason for reason, _, _ in broken_images()}
    assert len({upload.key for upload in uploads}) == 1000
    assert all(upload.key.startswith("uploads/load/batch ") for upload in uploads)
    assert any("été" in upload.key for upload in uploads)


def test_stale_outputs_and_manifests_listing_missing_files_are_violations():
    # GIVEN complete sets, one file of which was made from an older version of its source, and
    # a manifest that lists a file no longer there
    outputs = {"a_128w.webp", "a_512w.webp", "b_128w.webp", "b_512w.webp"}

    verdict = check_invariant(
        EXPECTED,
        outputs,
        Counter(),
        stale_outputs=["a_128w.webp"],
        manifest_gaps={"b.json": ["b_64w.avif"], "a.json": []},
    )

    # THEN both are reported
    assert not verdict.holds
    assert verdict.violations == {
        "a_128w.webp": "made from another version than its source's current one",
        "b.json": "lists missing files: b_64w.avif",
    }

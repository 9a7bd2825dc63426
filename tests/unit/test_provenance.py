"""What a thumbnail records about its making, and how sequencers order events."""

import pytest

from thumbnailer.provenance import (
    RENDITION_VERSION,
    Provenance,
    is_older_sequencer,
    key_digest,
    settings_hash,
    settings_signature,
)


@pytest.mark.parametrize(
    ("candidate", "reference", "older"),
    [
        ("0055AED6DCD90281E5", "0055AED6DCD90281E6", True),
        ("0055AED6DCD90281E6", "0055AED6DCD90281E5", False),
        ("0055AED6DCD90281E5", "0055AED6DCD90281E5", False),  # a duplicate is not older
        # different lengths: the shorter is right-padded with zeros (AWS's rule)
        ("0055AED6DCD9028", "0055AED6DCD90281E5", True),
        ("0055AED6DCD90290", "0055AED6DCD90281E5", False),
        ("0055aed6dcd90281e5", "0055AED6DCD90281E6", True),  # case does not matter
    ],
)
def test_sequencers_compare_right_padded(candidate, reference, older):
    assert is_older_sequencer(candidate, reference) is older


def test_the_settings_signature_names_widths_quality_and_rendition():
    # GIVEN the same settings written two ways, and a different quality
    one = settings_signature((512, 128), 85)
    same = settings_signature([128, 512, 128], 85)
    other = settings_signature((128, 512), 80)
    # THEN order and repeats do not matter, quality does, and all of it is readable ASCII
    assert one == same == f"widths=128,512;quality=85;rendition={RENDITION_VERSION}"
    assert settings_hash(one) == settings_hash(same) != settings_hash(other)
    assert one.isascii()


def test_metadata_round_trips_and_is_ascii_even_for_non_ascii_keys():
    # GIVEN the provenance of a thumbnail made from a key that is not ASCII
    provenance = Provenance(
        key_digest=key_digest("uploads/été/photo (1).jpg"),
        etag="9b2cf535f27731c974343645a3985328",
        settings_hash=settings_hash(settings_signature((128, 512), 85)),
        settings=settings_signature((128, 512), 85),
        version_id="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
        sequencer="0055AED6DCD90281E5",
    )
    # WHEN written as S3 user metadata and read back
    metadata = provenance.as_metadata()
    # THEN every value is ASCII (S3's rule for user metadata) and nothing is lost
    assert all(value.isascii() for value in metadata.values())
    assert Provenance.from_metadata(metadata) == provenance


def test_thumbnails_from_before_provenance_have_none():
    # GIVEN a thumbnail that only records its source's ETag (as the first release wrote them)
    assert Provenance.from_metadata({"source-etag": "abc"}) is None
    assert Provenance.from_metadata({}) is None


def test_the_default_signature_is_unchanged_and_each_rendition_setting_changes_it():
    from thumbnailer.provenance import settings_signature

    default = settings_signature((128, 512), 85)
    assert default == "widths=128,512;quality=85;rendition=1"
    variants = [
        settings_signature((128, 512), 85, formats=("webp", "avif"), avif_quality=55),
        settings_signature((128, 512), 85, formats=("webp", "avif"), avif_quality=60),
        settings_signature((128, 512), 85, crops=((256, 256),)),
        settings_signature((128, 512), 85, manifest=True),
    ]
    assert len({default, *variants}) == 5


def test_auto_quality_and_its_target_change_the_signature_and_off_leaves_it_as_before():
    from thumbnailer.provenance import signature_of
    from thumbnailer.settings import Settings

    # GIVEN the function's settings with AUTO_QUALITY off, on at 75, and on at 70
    base = {"OUTPUT_BUCKET": "out", "DLQ_URL": "https://sqs.example/q"}
    off = Settings.from_env(base)
    on = Settings.from_env({**base, "AUTO_QUALITY": "true"})
    lower = Settings.from_env({**base, "AUTO_QUALITY": "true", "QUALITY_TARGET": "70"})
    target_alone = Settings.from_env({**base, "QUALITY_TARGET": "70"})

    # WHEN their signatures are taken
    signatures = [signature_of(s) for s in (off, on, lower, target_alone)]

    # THEN on and each target differ (a backfill redoes the sets); off, the target is moot
    assert signatures[0] == "widths=128,512;quality=85;rendition=1" == signatures[3]
    assert len(set(signatures[:3])) == 3
    assert "quality_target=75" in signatures[1]


def test_the_animation_frame_cap_is_part_of_the_recorded_settings():
    # GIVEN the default frame cap and a raised one
    default = settings_signature((128, 512), 85)
    raised = settings_signature((128, 512), 85, max_frames=600)
    # THEN raising it changes the signature (a backfill remakes the animations), while the
    # default keeps the signature outputs made before it was recorded carry
    assert raised != default
    assert raised.endswith(";max_frames=600;rendition=1")
    assert default == "widths=128,512;quality=85;rendition=1"

from urllib.parse import quote_plus

import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event

from thumbnailer.errors import KeyTooLongError
from thumbnailer.keys import MAX_KEY_BYTES, check_output_keys, relative_key, rendition_key
from thumbnailer.models import SourceObject


@pytest.mark.parametrize(
    ("relative", "width", "expected"),
    [
        ("My Photos/été 2024+fun (1).jpg", 128, "My Photos/été 2024+fun (1)_128w.webp"),
        ("a.b/photo.v2.final.jpeg", 512, "a.b/photo.v2.final_512w.webp"),
        ("photo", 128, "photo_128w.webp"),  # no extension: nothing is dropped
        ("dir.with.dots/noext", 128, "dir.with.dots/noext_128w.webp"),
        (".hidden", 64, ".hidden_64w.webp"),  # a leading dot is not an extension
        ("deep/a/b/c.PNG", 512, "deep/a/b/c_512w.webp"),
    ],
)
def test_output_key_drops_only_the_last_extension(relative, width, expected):
    # GIVEN a key relative to the input prefix / WHEN named / THEN only the last suffix goes
    assert rendition_key(relative, f"{width}w", "webp") == expected


def test_relative_key_strips_the_prefix_and_refuses_keys_outside_it():
    # GIVEN keys inside and outside the prefix
    # WHEN / THEN the prefix is stripped exactly once, and outsiders get None
    assert relative_key("uploads/uploads/x.jpg", "uploads/") == "uploads/x.jpg"
    assert relative_key("other/x.jpg", "uploads/") is None
    assert relative_key("x.jpg", "") == "x.jpg"


def test_event_keys_are_url_decoded_before_naming():
    # GIVEN the key exactly as S3 encodes it in an event ("+" for space, %2B for "+")
    key = "uploads/My Photos/été 2024+fun (1).jpg"
    encoded = quote_plus(key, safe="/")
    assert "+" in encoded
    assert "%2B" in encoded
    event = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "eventTime": "2026-11-22T10:00:00.000Z",
                "responseElements": {"x-amz-request-id": "REQ123"},
                "s3": {
                    "bucket": {"name": "in"},
                    "object": {"key": encoded, "size": 10, "eTag": "abc", "sequencer": "0A"},
                },
            }
        ]
    }

    # WHEN the record is parsed
    source = SourceObject.from_s3_record(S3Event(event).record)

    # THEN the key is the object's real key, and the thumbnail name follows from it
    assert source.key == key
    assert source.s3_request_id == "REQ123"
    assert rendition_key(relative_key(source.key, "uploads/"), "128w", "webp") == (
        "My Photos/été 2024+fun (1)_128w.webp"
    )


def test_every_rendition_and_the_manifest_are_named_from_the_stem():
    # GIVEN every rendition configured / WHEN planned
    from thumbnailer.keys import planned_keys

    keys = planned_keys(
        "a.b/photo.v2.jpg",
        widths=(512, 128),
        formats=("webp", "avif"),
        crops=((1200, 630), (256, 256)),
        manifest=True,
    )
    # THEN one key per rendition and format, the manifest last
    assert keys == [
        "a.b/photo.v2_128w.webp",
        "a.b/photo.v2_512w.webp",
        "a.b/photo.v2_256x256.webp",
        "a.b/photo.v2_1200x630.webp",
        "a.b/photo.v2_128w.avif",
        "a.b/photo.v2_512w.avif",
        "a.b/photo.v2_256x256.avif",
        "a.b/photo.v2_1200x630.avif",
        "a.b/photo.v2.json",
    ]


def test_output_keys_within_s3s_limit_pass_and_one_byte_over_is_refused():
    # GIVEN planned keys of exactly 1,024 bytes of UTF-8 (é is two bytes), and one of 1,025
    at_limit = "é" * 507 + "_128w.webp"
    assert len(at_limit.encode()) == MAX_KEY_BYTES
    # WHEN checked / THEN the first passes, and one key over the limit refuses the whole set
    check_output_keys([at_limit, "short_512w.webp"])
    with pytest.raises(KeyTooLongError, match="1025 bytes of UTF-8; S3 allows 1024") as caught:
        check_output_keys(["short_512w.webp", "x" + at_limit])
    assert caught.value.reason == "key_too_long"

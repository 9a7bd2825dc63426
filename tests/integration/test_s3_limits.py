"""Uploads whose outputs S3 itself would refuse are bad objects, refused before any write.

moto stores what S3 refuses (keys over 1,024 bytes, metadata over 2 KB); the `s3_limits`
fixture (part of `stack`) models S3's limits, so these tests see what AWS would do."""

import pytest
from botocore.exceptions import ClientError

import app
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import S3_MAX_KEY_BYTES, event_of

PNG = encode(photo(64, 48), "PNG")


@pytest.mark.parametrize(
    ("key", "metadata", "code"),
    [
        ("k" * (S3_MAX_KEY_BYTES + 1), {}, "KeyTooLongError"),
        ("é" * 513, {}, "KeyTooLongError"),  # 513 characters, 1,026 bytes
        ("small", {"big": "m" * 2046}, "MetadataTooLarge"),
    ],
)
def test_the_local_s3_refuses_what_s3_refuses(stack, key, metadata, code):
    # GIVEN moto with S3's limits / WHEN a put is over one / THEN S3's own error code
    with pytest.raises(ClientError) as caught:
        stack.s3.put_object(Bucket=stack.output_bucket, Key=key, Body=b"x", Metadata=metadata)
    assert caught.value.response["Error"]["Code"] == code
    # AND at the limit itself, it is stored
    stack.s3.put_object(Bucket=stack.output_bucket, Key="k" * S3_MAX_KEY_BYTES, Body=b"x")


def test_a_1024_byte_key_without_extension_is_refused_before_anything_is_written(
    stack, lambda_context, reads
):
    # GIVEN an upload whose key is S3's longest (1,024 bytes) and has no extension: its
    # thumbnails' keys would be 1,026 bytes ("uploads/" goes, "_128w.webp" comes)
    key = "uploads/" + "p" * (S3_MAX_KEY_BYTES - len("uploads/"))
    record = stack.upload(key, PNG)

    # WHEN handled
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN a bad object (not an error Lambda would retry): one DLQ record, no output, and the
    # upload was not even read
    assert result["outcomes"][0]["reason"] == "key_too_long"
    [dead] = stack.dead_letters()
    assert (dead["reason"], dead["retryable"], dead["key"]) == ("key_too_long", False, key)
    assert "1026 bytes" in dead["message"]
    assert stack.output_keys() == []
    assert reads == []


def test_a_long_key_whose_outputs_fit_is_thumbnailed(stack, lambda_context):
    # GIVEN a 1,024-byte key with an extension: "uploads/" and ".png" go, "_128w.webp" comes
    key = "uploads/" + "p" * (S3_MAX_KEY_BYTES - len("uploads/") - 4) + ".png"
    record = stack.upload(key, PNG)
    # WHEN handled / THEN both thumbnails are written, under 1,022-byte keys
    app.lambda_handler(event_of(record), lambda_context)
    assert [len(out.encode()) for out in stack.output_keys()] == [1022, 1022]

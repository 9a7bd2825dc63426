"""The real handler against moto with what phones and the web really upload: HEIC under a .jpg
name, animations, wide-gamut colour, and a PNG too big for the function's memory."""

import dataclasses
from io import BytesIO

from PIL import Image

import app
from scripts.support.sample_images import animation, encode, heic, moving_box_frames, photo
from tests import icc_profiles
from tests.integration.conftest import event_of
from thumbnailer.image.budget import pixel_budget


def output_image(stack, key: str) -> Image.Image:
    body = stack.s3.get_object(Bucket=stack.output_bucket, Key=key)["Body"].read()
    return Image.open(BytesIO(body))


def test_an_iphone_heic_named_jpg_becomes_webp_thumbnails(stack, lambda_context, captured_output):
    # GIVEN a HEIC uploaded under a .jpg name, as iPhones do
    record = stack.upload("uploads/iphone/IMG_0001.jpg", heic(photo(1200, 900, seed=4)))

    # WHEN S3's event reaches the handler
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN both thumbnails are written under the usual names, and the log says it was HEIF
    assert result["outcomes"][0]["status"] == "written"
    assert stack.output_keys() == ["iphone/IMG_0001_128w.webp", "iphone/IMG_0001_512w.webp"]
    assert output_image(stack, "iphone/IMG_0001_512w.webp").size == (512, 384)
    logs, _ = captured_output()
    written = [line for line in logs if line["message"] == "thumbnails written"]
    assert written[0]["source_format"] == "HEIF"
    assert stack.dead_letters() == []


def test_an_animated_gif_becomes_animated_webp_thumbnails(stack, lambda_context):
    # GIVEN an animated GIF upload
    data = animation(moving_box_frames(5), "GIF", durations=[100, 120, 140, 160, 180], loop=0)
    record = stack.upload("uploads/fun/dance.gif", data)

    # WHEN handled
    app.lambda_handler(event_of(record), lambda_context)

    # THEN each thumbnail is an animated WebP with all five frames
    for key in ("fun/dance_128w.webp", "fun/dance_512w.webp"):
        thumb = output_image(stack, key)
        assert (thumb.format, thumb.n_frames) == ("WEBP", 5)


def test_a_display_p3_photo_is_written_in_srgb(stack, lambda_context):
    # GIVEN a JPEG in Display P3 whose colour is sRGB (200, 60, 40)
    profile = icc_profiles.display_p3()
    data = encode(
        Image.new("RGB", (800, 600), (185, 71, 50)),  # (200, 60, 40) expressed in Display P3
        "JPEG",
        quality=98,
        subsampling=0,
        icc_profile=profile,
    )
    record = stack.upload("uploads/p3.jpg", data)

    # WHEN handled
    app.lambda_handler(event_of(record), lambda_context)

    # THEN the thumbnail carries the sRGB values and no profile
    thumb = output_image(stack, "p3_512w.webp")
    assert (
        max(abs(a - b) for a, b in zip(thumb.getpixel((256, 192)), (200, 60, 40), strict=True)) <= 4
    )
    assert not thumb.info.get("icc_profile")


def test_a_png_too_big_for_the_functions_memory_is_dead_lettered(
    stack, lambda_context, monkeypatch
):
    # GIVEN a function sized for 128 MB (its budget: 4 MP) and a 5 MP RGBA PNG (10 MP to resize)
    limited = dataclasses.replace(app.SETTINGS, max_input_pixels=pixel_budget(128))
    monkeypatch.setattr(app, "SETTINGS", limited)
    logo = Image.new("RGBA", (2500, 2000), (0, 0, 0, 0))
    record = stack.upload("uploads/big/logo.png", encode(logo, "PNG"))

    # WHEN handled
    app.lambda_handler(event_of(record), lambda_context)

    # THEN one record explains the refusal; nothing is written
    dead = stack.dead_letters()
    assert [d["reason"] for d in dead] == ["too_many_pixels"]
    assert "MAX_INPUT_PIXELS" in dead[0]["message"]
    assert stack.output_keys() == []

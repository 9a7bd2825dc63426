"""The handler with the animations browsers show but Pillow alone would refuse: GIF frames that
reach outside the screen, APNGs whose animation cannot be read; and the GIF bomb, still refused."""

from io import BytesIO

from PIL import Image

import app
from scripts.support.animation_files import broken_apngs, gifs_reaching_outside
from scripts.support.sample_images import gif_with_oversized_frame
from tests.integration.conftest import event_of


def test_a_gif_whose_frame_reaches_outside_the_screen_gets_its_thumbnails(stack, lambda_context):
    # GIVEN a 600x400 GIF whose second frame reaches past the screen's corner (today refused as
    # corrupt_image: "frame 2 grows the canvas")
    record = stack.upload("uploads/fun/corner.gif", gifs_reaching_outside()["disposal 2, opaque"])

    # WHEN handled
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN animated thumbnails at the screen's proportions, and no dead letter
    assert result["outcomes"][0]["status"] == "written"
    body = stack.s3.get_object(Bucket=stack.output_bucket, Key="fun/corner_512w.webp")["Body"]
    thumbnail = Image.open(BytesIO(body.read()))
    assert (thumbnail.size, thumbnail.n_frames) == ((512, 341), 3)
    assert stack.dead_letters() == []


def test_an_apng_whose_animation_cannot_be_read_gets_a_still_and_a_log_line(
    stack, lambda_context, captured_output
):
    # GIVEN an APNG whose frames' sequence numbers are out of order
    record = stack.upload("uploads/fun/broken.png", broken_apngs()["sequence numbers swapped"])

    # WHEN handled
    result = app.lambda_handler(event_of(record), lambda_context)

    # THEN still thumbnails of its default image, and a warning saying why
    assert result["outcomes"][0]["status"] == "written"
    body = stack.s3.get_object(Bucket=stack.output_bucket, Key="fun/broken_512w.webp")["Body"]
    assert getattr(Image.open(BytesIO(body.read())), "n_frames", 1) == 1
    logs, _ = captured_output()
    warnings = [line for line in logs if line["level"] == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0]["message"].startswith("the APNG's animation cannot be read (")
    assert "its default image is shown" in warnings[0]["message"]
    assert stack.dead_letters() == []


def test_a_gif_whose_frame_would_grow_the_canvas_past_the_budget_is_too_many_pixels(
    stack, lambda_context
):
    # GIVEN a 16x16 GIF whose second frame claims 6000x6000: under Pillow's own bomb limit, but
    # the canvas it grows, held a few times over, is past the budget of 1024 MB
    record = stack.upload("uploads/bad/bomb.gif", gif_with_oversized_frame((6_000, 6_000)))

    # WHEN handled / THEN one dead letter, too_many_pixels, and nothing written
    app.lambda_handler(event_of(record), lambda_context)
    (dead,) = stack.dead_letters()
    assert dead["reason"] == "too_many_pixels"
    assert "6000x6000 decoded" in dead["message"]
    assert stack.output_keys() == []

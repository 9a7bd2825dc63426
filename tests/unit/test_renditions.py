"""The renditions core: crops around the subject, AVIF, the focus point and the placeholder."""

from io import BytesIO

import blurhash
import pytest
from PIL import Image, ImageDraw

from scripts.support.sample_images import animation, encode, jpeg_with_exif, photo, transparent_logo
from thumbnailer.image.encoders import encode_webp
from thumbnailer.image.placeholder import placeholder_for
from thumbnailer.image.render import render
from thumbnailer.image.renditions import make_renditions
from thumbnailer.image.saliency import SaliencyMap, crop_box

MAX_PIXELS = 10**9
SUBJECT = (200, 40, 40)


def renditions(data, widths=(128,), **options):
    made = make_renditions(data, widths, quality=85, max_pixels=MAX_PIXELS, **options)
    return made, {(r.name, r.format): r for r in made.renditions}


def off_centre_subject(size=(1600, 600), centre=(1380, 420), radius=90) -> Image.Image:
    """A plain backdrop with one detailed, saturated subject far from the middle."""
    picture = Image.new("RGB", size, (120, 130, 140))
    draw = ImageDraw.Draw(picture)
    x, y = centre
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=SUBJECT)
    for offset in range(-radius, radius, 12):  # detail: stripes across it
        draw.line((x + offset, y - radius // 2, x + offset, y + radius // 2), fill=(250, 220, 0))
    return picture


def decoded(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    image.load()
    return image


def subject_share(image: Image.Image) -> float:
    data = image.convert("RGB").tobytes()
    pixels = len(data) // 3
    near = sum(
        abs(data[3 * i] - SUBJECT[0]) + abs(data[3 * i + 1] - SUBJECT[1]) < 60
        for i in range(pixels)
    )
    return near / pixels


def test_a_square_crop_keeps_an_off_centre_subject():
    # GIVEN a wide picture whose subject sits near its right edge
    data = encode(off_centre_subject(), "PNG")
    # WHEN a 256x256 crop is made
    _made, out = renditions(data, crops=((256, 256),))
    crop = decoded(out["256x256", "webp"].data)
    # THEN it is exactly the box and holds all of the subject, which a centre crop would miss
    assert crop.size == (256, 256)
    whole = off_centre_subject().resize((683, 256))
    assert subject_share(crop) * 256 * 256 > 0.95 * subject_share(whole) * 683 * 256
    centre = off_centre_subject().resize((683, 256)).crop((213, 0, 469, 256))
    assert subject_share(centre) < 0.01


def test_the_focus_point_is_the_subject():
    data = encode(off_centre_subject(), "PNG")
    made, _out = renditions(data, describe=True)
    x, y = made.focus
    assert abs(x - 1380 / 1600) < 0.08
    assert abs(y - 420 / 600) < 0.12


def test_a_skin_toned_subject_draws_the_crop_on_a_flat_picture():
    picture = Image.new("RGB", (900, 300), (90, 90, 90))
    ImageDraw.Draw(picture).ellipse((60, 90, 180, 210), fill=(224, 172, 140))  # a face's tone
    saliency = SaliencyMap(picture)
    left, _top, right, _bottom = crop_box((900, 300), (300, 300), saliency)
    assert left <= 60
    assert right >= 180


@pytest.mark.parametrize(
    ("box", "expected"),
    [((256, 256), (100, 100)), ((1200, 630), (190, 100)), ((100, 400), (25, 100))],
)
def test_a_small_source_is_not_enlarged_but_cropped_to_the_boxs_aspect(box, expected):
    # GIVEN a 200x100 source, smaller than the box
    data = encode(photo(200, 100, seed=3), "PNG")
    # WHEN cropped
    _made, out = renditions(data, crops=(box,))
    # THEN the crop has the box's aspect ratio at the source's own resolution, same name
    assert decoded(out[f"{box[0]}x{box[1]}", "webp"].data).size == expected


def test_crops_follow_the_exif_orientation():
    # GIVEN a landscape JPEG stored sideways (EXIF 6: shown as portrait)
    data = jpeg_with_exif(photo(800, 400, seed=2), orientation=6)
    # WHEN a wide crop is made
    made, out = renditions(data, crops=((300, 100),))
    # THEN it is cut from the picture as shown (400x800), at exactly the box
    assert made.size == (400, 800)
    assert decoded(out["300x100", "webp"].data).size == (300, 100)


def test_crops_keep_transparency():
    data = encode(transparent_logo(640, 480), "PNG")
    _made, out = renditions(data, crops=((200, 200),), formats=("webp", "avif"))
    for fmt in ("webp", "avif"):
        crop = decoded(out["200x200", fmt].data)
        assert crop.mode == "RGBA"
        assert crop.getchannel("A").getextrema()[0] == 0


def test_avif_is_written_beside_webp_for_every_rendition_in_fewer_bytes():
    data = encode(photo(1600, 1000, seed=5), "JPEG", quality=92)
    _made, out = renditions(data, widths=(128, 512), formats=("webp", "avif"), crops=((256, 256),))
    assert sorted(out) == sorted(
        (name, fmt) for name in ("128w", "512w", "256x256") for fmt in ("webp", "avif")
    )
    for (name, fmt), rendition in out.items():
        image = decoded(rendition.data)
        assert image.format == fmt.upper()
        assert image.size == rendition.size
        assert out[name, "webp"].size == out[name, "avif"].size
    assert len(out["512w", "avif"].data) < len(out["512w", "webp"].data)


def test_an_animation_gets_animated_webp_crops_and_no_avif():
    frames = [photo(320, 200, seed=seed) for seed in range(3)]
    data = animation(frames, "GIF", durations=[100] * 3, loop=0)
    made, out = renditions(data, formats=("webp", "avif"), crops=((64, 64),))
    assert set(out) == {("128w", "webp"), ("64x64", "webp")}
    crop = Image.open(BytesIO(out["64x64", "webp"].data))
    assert crop.size == (64, 64)
    assert crop.n_frames == 3 == made.frames


def test_defaults_are_one_webp_per_width_and_nothing_more():
    # GIVEN a JPEG
    data = encode(photo(900, 600, seed=1), "JPEG", quality=90)
    # WHEN made with the defaults (no AVIF, no crops, no description)
    made, _out = renditions(data, widths=(128, 512))
    # THEN the renditions are exactly each width's picture as WebP, byte for byte
    rendering = render(data, (128, 512), max_pixels=MAX_PIXELS)
    assert {(r.name, r.format, r.data) for r in made.renditions} == {
        (f"{width}w", "webp", encode_webp(frames, quality=85))
        for width, frames in rendering.frames.items()
    }
    assert made.focus is None
    assert made.placeholder is None


def test_the_placeholder_is_a_blurhash_of_the_picture_and_its_dominant_colour():
    # GIVEN a picture that is mostly blue with a red band
    picture = Image.new("RGB", (300, 200), (20, 60, 200))
    ImageDraw.Draw(picture).rectangle((0, 150, 300, 200), fill=(220, 30, 30))
    # WHEN described
    placeholder = placeholder_for(picture)
    # THEN the hash decodes to blue above and red below, and the colour is the blue
    assert placeholder.algorithm == "blurhash"
    pixels = blurhash.decode(placeholder.hash, 4, 4)
    top, bottom = pixels[0][1], pixels[3][1]
    assert top[2] > top[0]
    assert bottom[0] > bottom[2]
    red, _green, blue = (int(placeholder.color[i : i + 2], 16) for i in (1, 3, 5))
    assert placeholder.color.startswith("#")
    assert len(placeholder.color) == 7
    assert blue > 150
    assert red < 80

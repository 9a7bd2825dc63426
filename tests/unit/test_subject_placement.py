"""Where the subject is: the focus point sits on it, never on the analysis map's edge, and a
cover crop is centred on it as far as the frame allows (image/saliency.py)."""

import math
import random
from io import BytesIO

import pytest
from PIL import Image, ImageDraw, ImageFilter

from scripts.support.sample_images import encode
from thumbnailer.image.renditions import make_renditions
from thumbnailer.image.saliency import ANALYSIS_SIDE, SaliencyMap, crop_box

DISC = (220, 30, 30)


def analysed(picture: Image.Image) -> SaliencyMap:
    """The map as the function makes it: from the smallest thumbnail (128 px here)."""
    small = picture.copy()
    small.thumbnail((128, 128))
    return SaliencyMap(small)


def disc(size=(1600, 900), centre=(800, 450), radius=60) -> Image.Image:
    """A flat, slightly grainy backdrop with one red disc, striped for detail."""
    picture = Image.blend(
        Image.new("RGB", size, (120, 130, 140)), Image.effect_noise(size, 40).convert("RGB"), 0.05
    )
    draw = ImageDraw.Draw(picture)
    x, y = centre
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=DISC)
    for offset in range(-radius, radius, 12):
        draw.line((x + offset, y - radius // 2, x + offset, y + radius // 2), fill=(250, 220, 0))
    return picture


def flower_in_foliage(centre, size=(1600, 1067), radius=110, seed=1) -> Image.Image:
    """Leaves to every edge (textured, green: salient too) and a pink flower with a yellow
    heart, the subject."""
    rng = random.Random(seed)
    width, height = size
    picture = Image.new("RGB", size, (60, 90, 40))
    draw = ImageDraw.Draw(picture)
    for _ in range(1400):
        x, y = rng.randrange(-40, width), rng.randrange(-40, height)
        r = rng.randrange(8, 40)
        leaf = (rng.randrange(30, 80), rng.randrange(70, 160), rng.randrange(20, 60))
        draw.ellipse((x, y, x + 2 * r, y + r), fill=leaf)
    picture = picture.filter(ImageFilter.GaussianBlur(2))
    draw = ImageDraw.Draw(picture)
    x, y = centre
    for petal in range(8):
        angle = petal * math.pi / 4
        px, py = x + 0.6 * radius * math.cos(angle), y + 0.6 * radius * math.sin(angle)
        draw.ellipse((px - 0.45 * radius, py - 0.45 * radius, px + 0.45 * radius,
                      py + 0.45 * radius), fill=(230, 60, 150))  # fmt: skip
    draw.ellipse((x - 0.3 * radius, y - 0.3 * radius, x + 0.3 * radius, y + 0.3 * radius),
                 fill=(250, 210, 30))  # fmt: skip
    return picture


def saw_by_a_garage_door(size=(1600, 1067)) -> Image.Image:
    """A grey wall, a ridged garage door to the right edge, an orange saw at x 360-900."""
    width, height = size
    picture = Image.new("RGB", size, (150, 145, 140))
    draw = ImageDraw.Draw(picture)
    door = int(width * 0.72)
    draw.rectangle((door, int(height * 0.1), width, height), fill=(200, 200, 195))
    for y in range(int(height * 0.1), height, 18):
        draw.line((door, y, width, y), fill=(90, 90, 90), width=3)
    x, y = 600, 560
    draw.rectangle((x - 240, y - 50, x + 160, y + 50), fill=(235, 120, 20))
    for tooth in range(x - 240, x + 160, 14):
        draw.polygon([(tooth, y + 50), (tooth + 7, y + 66), (tooth + 14, y + 50)],
                     fill=(180, 180, 185))  # fmt: skip
    draw.rectangle((x + 160, y - 70, x + 300, y + 70), fill=(30, 30, 30))
    return Image.blend(picture, Image.effect_noise(size, 12).convert("RGB"), 0.06)


def salient_band_at_the_left_edge(size=(1600, 1067), seed=5) -> Image.Image:
    """Bright leaves in a band along the left edge of a dull picture: the map's most salient
    pixels are its first columns, where the focus used to land (x = 0.0078)."""
    rng = random.Random(seed)
    picture = Image.new("RGB", size, (110, 105, 95))
    draw = ImageDraw.Draw(picture)
    for _ in range(200):
        x, y = rng.randrange(-60, 48), rng.randrange(-60, size[1])
        r = rng.randrange(20, 70)
        shade = rng.uniform(0.5, 1.1)
        draw.ellipse((x, y, x + r, y + 2 * r), fill=(int(40 * shade), int(170 * shade), 30))
    return picture


def not_an_edge_pixel(focus, saliency):
    width, height = saliency.size
    x, y = focus
    return 1 / width < x < 1 - 1 / width and 1 / height < y < 1 - 1 / height


@pytest.mark.parametrize("centre", [(420, 600), (1200, 300), (800, 533), (250, 200)])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_focus_is_on_a_flower_among_leaves_that_reach_every_edge(centre, seed):
    # GIVEN a photo-like picture: leaves to every edge, a flower away from them
    saliency = analysed(flower_in_foliage(centre, seed=seed))
    # WHEN its focus is found
    x, y = saliency.focus()
    # THEN it is on the flower (radius 110 px of 1600 x 1067), not on an edge of the map
    assert abs(x * 1600 - centre[0]) < 110, (x, y)
    assert abs(y * 1067 - centre[1]) < 110, (x, y)
    assert not_an_edge_pixel((x, y), saliency)


def test_the_focus_is_on_the_saw_not_the_garage_door():
    # GIVEN a saw in front of a wall, a ridged garage door along the right edge
    saliency = analysed(saw_by_a_garage_door())
    # WHEN its focus is found
    x, y = saliency.focus()
    # THEN it is on the saw (x 360-900, y 490-630), not on the door or the edge
    assert 360 < x * 1600 < 900
    assert 490 < y * 1067 < 630
    assert not_an_edge_pixel((x, y), saliency)


def test_a_salient_band_along_an_edge_puts_the_focus_inside_it_not_on_the_edge():
    # GIVEN a picture whose most salient pixels are a band along its left edge (to x ~ 118)
    saliency = analysed(salient_band_at_the_left_edge())
    # WHEN its focus is found
    x, _y = saliency.focus()
    # THEN it is in the band, and not the map's first column
    assert x * 1600 < 118
    assert x > 1 / ANALYSIS_SIDE
    assert not_an_edge_pixel(saliency.focus(), saliency)


def test_nothing_salient_centres_the_focus():
    assert SaliencyMap(Image.new("RGB", (300, 200), (100, 100, 100))).focus() == (0.5, 0.5)


def expected_left(centre: float, frame: int, window: int) -> float:
    """Where a window centred on `centre` starts, as far as the frame allows."""
    return min(max(0.0, centre - window / 2), frame - window)


#: Subjects at each edge and corner, and in the middle, of a 1600 x 900 frame (radius 60).
PLACES = {
    "left": (90, 450),
    "right": (1510, 450),
    "top": (800, 90),
    "bottom": (800, 810),
    "top left": (90, 90),
    "top right": (1510, 90),
    "bottom left": (90, 810),
    "bottom right": (1510, 810),
    "near the right, room to centre": (1350, 450),
    "middle": (800, 450),
}


@pytest.mark.parametrize("place", PLACES)
def test_a_window_is_centred_on_the_subject_as_far_as_the_frame_allows(place):
    # GIVEN a 1600 x 900 picture with a small subject at an edge, a corner or the middle
    centre = PLACES[place]
    saliency = analysed(disc(centre=centre))
    # WHEN a 400 x 300 window is placed (free along both axes)
    left, top, right, bottom = crop_box((1600, 900), (400, 300), saliency)
    # THEN it is the box's size, centred on the subject as far as the frame allows: within 5%
    # of the window's width of where the subject's centre would put it
    assert (right - left, bottom - top) == (400, 300)
    assert abs(left - expected_left(centre[0], 1600, 400)) <= 0.05 * 400, (left, top)
    assert abs(top - expected_left(centre[1], 900, 300)) <= 0.05 * 400, (left, top)


def test_a_square_crop_centres_a_subject_near_an_edge_as_far_as_the_frame_allows():
    # GIVEN the photo: a red disc centred at x=1350 of 1600 x 900
    data = encode(disc(centre=(1350, 450), radius=70), "PNG")
    # WHEN its 256x256 crop is made (from the 455 x 256 cover thumbnail)
    made = make_renditions(data, (128,), quality=85, max_pixels=10**9, crops=((256, 256),))
    crop = Image.open(BytesIO(made.renditions[-1].data)).convert("RGB")
    # THEN the disc's centre is where centring allows (x = 1350 / 1600 * 455 - 199 = 185),
    # within 5% of the crop's width
    red = [x for x in range(256) for y in range(0, 256, 4) if _is_disc(crop.getpixel((x, y)))]
    assert red
    disc_x = (min(red) + max(red)) / 2
    assert abs(disc_x - (1350 / 1600 * 455 - (455 - 256))) <= 0.05 * 256, disc_x


def _is_disc(pixel) -> bool:
    return abs(pixel[0] - DISC[0]) + abs(pixel[1] - DISC[1]) + abs(pixel[2] - DISC[2]) < 90


def test_a_subject_larger_than_the_window_leaves_it_to_the_densest_window():
    # GIVEN a subject much wider than the window: a 900 px disc, brightest on its right half
    picture = Image.new("RGB", (1600, 900), (120, 130, 140))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((300, 0, 1200, 900), fill=(90, 150, 90))
    draw.rectangle((800, 250, 1150, 650), fill=(20, 210, 40))
    saliency = analysed(picture)
    # WHEN a 300 x 300 window is placed
    left, _top, right, _bottom = crop_box((1600, 900), (300, 300), saliency)
    # THEN the densest window decides: it lies on the subject's most salient part
    assert left >= 800 - 0.05 * 300, (left, right)
    assert right <= 1150 + 0.05 * 300, (left, right)

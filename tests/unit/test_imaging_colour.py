"""Colour: sources with an ICC profile come out as the same colours in sRGB, with no profile
embedded. The profiles are built in code (tests/icc_profiles.py), from published primaries."""

from io import BytesIO

import pytest
from PIL import Image, ImageCms

from scripts.support.sample_images import encode, heic
from tests import icc_profiles
from tests.image_core import make, widths_of

MAX_PIXELS = 50_000_000
# A saturated brick red and a teal, well inside sRGB (so they survive the trip exactly).
COLOURS = ((200, 60, 40), (40, 150, 140))
# Full-resolution chroma, so that the only colour change under test is the profile's.
LOSSLESS_ENOUGH = {"JPEG": {"quality": 98, "subsampling": 0}, "PNG": {}}


def in_profile(colour, profile: bytes):
    """The pixel values that show sRGB `colour` in a space with `profile`."""
    to_space = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"),
        ImageCms.ImageCmsProfile(BytesIO(profile)),
        "RGB",
        "RGB",
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    return ImageCms.applyTransform(Image.new("RGB", (1, 1), colour), to_space).getpixel((0, 0))


def two_colour_picture(left, right, mode="RGB") -> Image.Image:
    image = Image.new(mode, (400, 200), left)
    image.paste(right, (200, 0, 400, 200))
    return image


def thumbnail_of(data: bytes, options, width: int = 128) -> Image.Image:
    made = make(data, (width,), options=options, quality=95, max_pixels=MAX_PIXELS)
    return Image.open(BytesIO(widths_of(made)[width].data))


def colours_of(thumb: Image.Image):
    rgb = thumb.convert("RGB")
    w, h = rgb.size
    return rgb.getpixel((w // 4, h // 2)), rgb.getpixel((3 * w // 4, h // 2))


def close(a, b, tolerance=4) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= tolerance


def far(a, b, distance=10) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) >= distance


@pytest.mark.parametrize(
    ("profile_name", "image_format"),
    [("display_p3", "JPEG"), ("display_p3", "PNG"), ("adobe_rgb", "JPEG"), ("display_p3", "HEIF")],
)
def test_wide_gamut_sources_come_out_as_the_same_colours_in_srgb(
    profile_name, image_format, core_options
):
    # GIVEN two sRGB colours, encoded in a wide-gamut space and tagged with its profile
    profile = getattr(icc_profiles, profile_name)()
    encoded = [in_profile(colour, profile) for colour in COLOURS]
    # (the encoded values really differ: shown untagged they would be the wrong colours)
    assert all(far(e, c) for e, c in zip(encoded, COLOURS, strict=True))
    picture = two_colour_picture(*encoded)
    if image_format == "HEIF":
        data = heic(picture, quality=95, icc_profile=profile)
    else:
        data = encode(picture, image_format, icc_profile=profile, **LOSSLESS_ENOUGH[image_format])

    # WHEN thumbnailed
    thumb = thumbnail_of(data, options=core_options)

    # THEN the thumbnail shows the original sRGB colours (give or take the 8-bit rounding of
    # the wide-gamut values and lossy WebP), and carries no profile
    left, right = colours_of(thumb)
    assert close(left, COLOURS[0], 6), (left, encoded)
    assert close(right, COLOURS[1], 6), (right, encoded)
    assert not thumb.info.get("icc_profile")


def test_transparency_survives_the_colour_conversion(core_options):
    # GIVEN an RGBA PNG in Display P3: an opaque colour on a clear background
    profile = icc_profiles.display_p3()
    picture = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    picture.paste((*in_profile(COLOURS[0], profile), 255), (100, 50, 300, 150))

    # WHEN thumbnailed
    thumb = thumbnail_of(encode(picture, "PNG", icc_profile=profile), options=core_options)

    # THEN the background stays clear and the box has its sRGB colour
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((3, 3))[3] == 0
    assert close(thumb.getpixel((64, 32))[:3], COLOURS[0])
    assert thumb.getpixel((64, 32))[3] == 255


def press_profile() -> bytes:
    """A CMYK press profile: paper is white, inks are duller than a screen's primaries."""
    lab = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"
    )

    def corner(cmyk):
        c, m, y, k = cmyk
        naive = tuple(round((255 - ink) * (255 - k) / 255) for ink in (c, m, y))
        lightness, a, b = ImageCms.applyTransform(Image.new("RGB", (1, 1), naive), lab).getpixel(
            (0, 0)
        )
        return (10 + lightness * 100 / 255 * 0.9, (a - 128) * 0.6, (b - 128) * 0.6)

    return icc_profiles.cmyk_profile("Press (test)", corner)


def test_cmyk_with_a_profile_takes_its_colours_from_the_profile(core_options):
    # GIVEN a CMYK JPEG of pure magenta+yellow ink, with a press profile
    profile = press_profile()
    ink = (0, 255, 255, 0)
    data = encode(Image.new("CMYK", (300, 200), ink), "JPEG", quality=98, icc_profile=profile)
    # what the profile says that ink looks like, in sRGB (lcms, the same engine, on one pixel)
    expected = ImageCms.applyTransform(
        Image.new("CMYK", (1, 1), ink),
        ImageCms.buildTransform(
            ImageCms.ImageCmsProfile(BytesIO(profile)),
            ImageCms.createProfile("sRGB"),
            "CMYK",
            "RGB",
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        ),
    ).getpixel((0, 0))
    naive = Image.new("CMYK", (1, 1), ink).convert("RGB").getpixel((0, 0))
    assert far(expected, naive, 30)

    # WHEN thumbnailed
    thumb = thumbnail_of(data, options=core_options).convert("RGB")

    # THEN it is the press's dull red, not the screen red a naive conversion would give
    assert close(thumb.getpixel((64, 42)), expected), (thumb.getpixel((64, 42)), expected)


@pytest.mark.parametrize("mode", ["L", "LA"])
def test_a_grey_source_with_a_grey_profile_gets_the_tone_the_profile_means(mode, core_options):
    # GIVEN grey level 100 in a gamma 1.8 grey space (lighter than the same value in sRGB)
    profile = icc_profiles.grey_profile("Gamma 1.8 grey (test)", 1.8)
    source = Image.new(mode, (300, 200), 100 if mode == "L" else (100, 200))
    expected = ImageCms.applyTransform(
        Image.new("L", (1, 1), 100),
        ImageCms.buildTransform(
            ImageCms.ImageCmsProfile(BytesIO(profile)),
            ImageCms.createProfile("sRGB"),
            "L",
            "RGB",
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        ),
    ).getpixel((0, 0))
    assert expected[0] >= 110

    # WHEN thumbnailed
    thumb = thumbnail_of(encode(source, "PNG", icc_profile=profile), options=core_options)

    # THEN it is that sRGB grey (with its alpha, if any), not the untouched 100
    assert close(thumb.getpixel((64, 42))[:3], expected)
    assert thumb.mode == ("RGBA" if mode == "LA" else "RGB")


def test_an_unreadable_profile_is_ignored_like_browsers_do(core_options):
    # GIVEN a JPEG whose embedded "profile" is garbage
    data = encode(
        Image.new("RGB", (300, 200), COLOURS[0]), "JPEG", quality=98, icc_profile=b"junk" * 40
    )
    # WHEN thumbnailed / THEN the pixels are taken as sRGB, and the thumbnail is made
    assert close(
        thumbnail_of(data, options=core_options).convert("RGB").getpixel((64, 42)), COLOURS[0]
    )


def test_an_srgb_tagged_source_keeps_its_values_and_loses_its_profile(core_options):
    # GIVEN a JPEG tagged with an sRGB profile
    data = encode(two_colour_picture(*COLOURS), "JPEG", quality=98, icc_profile=icc_profiles.srgb())
    # WHEN thumbnailed
    thumb = thumbnail_of(data, options=core_options)
    # THEN the colours are unchanged and no profile is carried
    left, right = colours_of(thumb)
    assert close(left, COLOURS[0])
    assert close(right, COLOURS[1])
    assert not thumb.info.get("icc_profile")

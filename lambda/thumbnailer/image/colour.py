"""Colour management: every thumbnail comes out in sRGB, with no profile embedded.

Why convert rather than keep the source's profile: a browser shows an untagged image as sRGB,
and so does every place a thumbnail ends up that does no colour management at all (e-mail
clients, chat previews, some Android web views, image tools). A Display P3 photo tagged with
its profile looks right only where the profile is honoured, and washed out everywhere else;
converted to sRGB it looks the same everywhere. The cost is the P3 colours outside sRGB, which
are clipped: invisible at thumbnail size. It also saves the profile's bytes (0.5 to 3 KB, a
large share of a 128 px WebP), and CMYK or greyscale profiles could not be embedded in an RGB
WebP anyway.

The conversion runs on the largest thumbnail, not on the source: the same result for a
fraction of the work.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from PIL.ImageCms import ImageCmsTransform

#: The modes ImageCms can convert from, and what each becomes.
_OUTPUT_MODE = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB", "L": "RGB"}


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """`image` as 8-bit sRGB: RGB, or RGBA if it has alpha.

    Without a profile the pixels are taken to be sRGB already, which is what browsers assume.
    A profile that lcms cannot read is ignored the same way: the thumbnail is still made.
    """
    if image.mode == "LA":
        # lcms has no grey-with-alpha transform: convert the grey, then put the alpha back.
        grey, alpha = image.split()
        converted = to_srgb(grey, icc_profile)
        converted.putalpha(alpha)
        return converted
    if icc_profile and image.mode in _OUTPUT_MODE:
        transform = _transform_or_none(icc_profile, image.mode)
        if transform is not None:
            from PIL import ImageCms

            return ImageCms.applyTransform(image, transform)
    if image.mode in ("RGB", "RGBA"):
        return image
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


@lru_cache(maxsize=16)
def _transform_or_none(icc_profile: bytes, mode: str) -> ImageCmsTransform | None:
    # Relative colorimetric with black-point compensation (Photoshop's default conversion):
    # colours inside sRGB come out exactly, the others are clipped to its gamut edge, and a
    # CMYK black maps to sRGB black rather than to a dark grey.
    from io import BytesIO

    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(BytesIO(icc_profile))
        return ImageCms.buildTransform(
            source,
            _srgb_profile(),
            mode,
            _OUTPUT_MODE[mode],
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


@cache
def _srgb_profile() -> object:
    from PIL import ImageCms

    return ImageCms.createProfile("sRGB")

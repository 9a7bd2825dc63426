"""AUTO_QUALITY: the bounded search for the lowest quality that reaches a SSIMULACRA2 target,
the metric it scores with, and what the renditions and the manifest say of it."""

import json
import random
from io import BytesIO

from PIL import Image

from scripts.support.sample_images import encode, photo
from thumbnailer.image.encoders import encode_webp
from thumbnailer.image.metric import Reference, decoded
from thumbnailer.image.quality import MAX_ENCODES, QUALITY_RANGES, auto_encode, search
from thumbnailer.image.renditions import make_renditions
from thumbnailer.manifest import manifest_document

FLOOR, CEILING = QUALITY_RANGES["webp"]


def flat_colour() -> Image.Image:
    return Image.new("RGB", (384, 288), (70, 120, 180))


def fine_texture() -> Image.Image:
    """Noise of a pixel's grain: the hardest thing there is to compress."""
    rng = random.Random(7)
    return Image.frombytes(
        "RGB", (384, 288), bytes(rng.randrange(256) for _ in range(384 * 288 * 3))
    )


def webp(picture: Image.Image, quality: int) -> bytes:
    return encode_webp([picture], quality=quality)


def test_the_search_picks_a_lower_quality_for_flat_colour_than_for_fine_texture():
    # GIVEN an easy picture (one flat colour) and a hard one (fine texture)
    pictures = {"easy": flat_colour(), "hard": fine_texture()}

    # WHEN each is encoded at the lowest quality that reaches 75
    chosen = {
        name: auto_encode({name: picture}, "webp", target=75, fixed_quality=85, encode=webp)[name]
        for name, picture in pictures.items()
    }

    # THEN the easy one gets a lower quality, and each stays in the range, within the budget
    assert chosen["easy"].quality < chosen["hard"].quality
    assert chosen["easy"].score >= 75
    for choice in chosen.values():
        assert FLOOR <= choice.quality <= CEILING
        assert choice.encodes <= MAX_ENCODES


def test_the_search_stops_within_its_budget_on_a_pathological_score():
    # GIVEN a score that jumps about with the quality, never monotone, mostly under the target
    encodes = []

    def encode_once(quality: int) -> bytes:
        encodes.append(quality)
        return bytes([quality])

    def erratic(data: bytes) -> float:
        return 90.0 if data[0] % 7 == 0 else 10.0 + (data[0] * 37) % 50

    # WHEN it searches for a target of 75
    choice = search(encode_once, erratic, target=75, start=85, floor=FLOOR, ceiling=CEILING)

    # THEN it stopped within its budget, every quality tried in range, and chose one it tried
    assert len(encodes) <= MAX_ENCODES
    assert all(FLOOR <= quality <= CEILING for quality in encodes)
    assert choice.quality in encodes
    assert choice.encodes == len(encodes)


def test_the_search_stops_within_its_budget_on_a_plateau_just_under_the_target():
    # GIVEN a score a hair under the target at every quality but the top few: each step from a
    # failing quality is the smallest there is, so an unbounded search would crawl up one by one
    encodes = []

    def encode_once(quality: int) -> bytes:
        encodes.append(quality)
        return bytes([quality])

    # WHEN it searches for a target of 75
    choice = search(
        encode_once, lambda data: 75.0 if data[0] >= 94 else 74.99, target=75, start=60,
        floor=FLOOR, ceiling=CEILING,
    )  # fmt: skip

    # THEN it spent exactly its budget, the last encode at the ceiling, which it keeps
    assert len(encodes) == MAX_ENCODES
    assert encodes[-1] == CEILING
    assert choice.quality == CEILING


def test_a_target_nothing_reaches_ends_at_the_ceiling():
    # GIVEN a score no quality reaches
    # WHEN the search runs
    choice = search(bytes, lambda data: 0.0, target=75, start=60, floor=FLOOR, ceiling=CEILING)

    # THEN the last of its encodes is the ceiling, which it keeps
    assert choice.quality == CEILING
    assert choice.encodes <= MAX_ENCODES


def test_the_metric_scores_identical_pixels_100_and_a_worse_encoding_lower():
    # GIVEN a photo-like picture and two encodings of it
    picture = photo(512, 384, seed=3)
    reference = Reference(picture)

    # WHEN the picture itself and the encodings are scored
    same = reference.score(picture)
    good, poor = (reference.score(decoded(webp(picture, q))) for q in (95, 30))

    # THEN identical is 100, and the lower quality scores lower
    assert same == 100.0
    assert 100 > good > poor


def test_auto_quality_renditions_carry_quality_and_score_and_small_ones_inherit():
    # GIVEN a photo, with a 512w (measured) and a 128w (too small to measure) rendition
    data = encode(photo(1200, 800, seed=4), "JPEG", quality=92)

    # WHEN the renditions are made with AUTO_QUALITY, and the manifest written
    made = make_renditions(
        data, (128, 512), quality=85, max_pixels=10**9, auto_quality=True, quality_target=75
    )
    by_name = {r.name: r for r in made.renditions}
    document = json.loads(
        manifest_document(
            source={},
            renditions=[(r.name, r) for r in made.renditions],
            focus=(0.5, 0.5),
            placeholder=type("P", (), {"as_dict": lambda self: {}})(),
        )
    )

    # THEN the 512w is scored at or above the target, the 128w takes its quality unscored
    assert by_name["512w"].score >= 75
    assert FLOOR <= by_name["512w"].quality <= CEILING
    assert by_name["128w"].score is None
    assert by_name["128w"].quality == by_name["512w"].quality
    assert Image.open(BytesIO(by_name["512w"].data)).format == "WEBP"
    items = {item["key"]: item for item in document["renditions"]}
    assert items["512w"]["quality"] == by_name["512w"].quality
    assert "score" in items["512w"]
    assert "score" not in items["128w"]


def test_without_auto_quality_the_fixed_quality_is_recorded():
    # GIVEN AUTO_QUALITY off
    data = encode(photo(600, 400, seed=5), "JPEG", quality=92)

    # WHEN renditions are made in both formats
    made = make_renditions(data, (512,), quality=81, avif_quality=63, max_pixels=10**9,
                           formats=("webp", "avif"))  # fmt: skip

    # THEN each records its format's fixed quality and no score
    assert {(r.format, r.quality, r.score) for r in made.renditions} == {
        ("webp", 81, None),
        ("avif", 63, None),
    }

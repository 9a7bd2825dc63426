import os
import subprocess
import sys
from pathlib import Path

import pytest

from thumbnailer.errors import SettingsError
from thumbnailer.image.budget import pixel_budget
from thumbnailer.settings import ENV_VARS, RUNTIME_ENV_VARS, Settings

REPO = Path(__file__).resolve().parents[2]
BASE = {"OUTPUT_BUCKET": "out", "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/1/dlq"}
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:thumbs"


def test_defaults_fill_everything_but_the_bucket_and_queue():
    # GIVEN only the two required variables / WHEN parsed
    settings = Settings.from_env(BASE)
    # THEN the documented defaults apply
    assert settings.thumb_widths == (128, 512)
    assert settings.webp_quality == 85
    assert settings.input_prefix == "uploads/"
    assert settings.output_bucket == "out"


def test_widths_are_parsed_sorted_and_deduplicated():
    settings = Settings.from_env({**BASE, "THUMB_SIZES": " 512, 64,128,64 "})
    assert settings.thumb_widths == (64, 128, 512)


@pytest.mark.parametrize("raw", ["", "abc", "128,,512", "0", "-5", "128;512", "16384", "1.5"])
def test_bad_thumb_sizes_name_the_variable(raw):
    # GIVEN a malformed THUMB_SIZES / WHEN parsed / THEN the error names it and the value
    with pytest.raises(SettingsError, match="THUMB_SIZES") as caught:
        Settings.from_env({**BASE, "THUMB_SIZES": raw})
    assert repr(raw) in str(caught.value)


@pytest.mark.parametrize("raw", ["", "high", "101", "-1", "85.5"])
def test_bad_webp_quality_names_the_variable(raw):
    with pytest.raises(SettingsError, match="WEBP_QUALITY"):
        Settings.from_env({**BASE, "WEBP_QUALITY": raw})


def test_every_problem_is_reported_at_once():
    # GIVEN an environment with three mistakes
    env = {"THUMB_SIZES": "x", "WEBP_QUALITY": "200", "DLQ_URL": "dlq"}
    # WHEN parsed / THEN one error lists all of them
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    for name in ("OUTPUT_BUCKET", "THUMB_SIZES", "WEBP_QUALITY", "DLQ_URL"):
        assert name in message


def test_env_vars_list_is_what_from_env_reads():
    # GIVEN an environment holding only the contract's variables, each valid
    env = dict.fromkeys(ENV_VARS, "x") | BASE | {"THUMB_SIZES": "300", "WEBP_QUALITY": "70"}
    env |= {"INPUT_PREFIX": "in/", "MAX_INPUT_PIXELS": "12345678", "MAX_ANIMATION_FRAMES": "9"}
    env["NOTIFICATION_TOPIC_ARN"] = TOPIC_ARN
    env["CACHE_CONTROL"] = "public, max-age=31536000, immutable"
    env |= {
        "OUTPUT_FORMATS": "webp",
        "AVIF_QUALITY": "50",
        "CROP_SIZES": "",
        "WRITE_MANIFEST": "false",
        "AUTO_QUALITY": "true",
        "QUALITY_TARGET": "70",
        "TRACING": "off",
    }

    class Recording(dict):
        read: set

        def get(self, key, default=None):
            self.read.add(key)
            return super().get(key, default)

    recording = Recording(env)
    recording.read = set()
    # WHEN parsed
    settings = Settings.from_env(recording)
    # THEN exactly the contract's variables were read (and the memory Lambda sets itself), and
    # each took effect
    assert recording.read == set(ENV_VARS) | set(RUNTIME_ENV_VARS)
    assert (settings.thumb_widths, settings.webp_quality, settings.input_prefix) == (
        (300,),
        70,
        "in/",
    )
    assert (settings.max_input_pixels, settings.max_animation_frames) == (12345678, 9)
    assert settings.notification_topic_arn == TOPIC_ARN
    assert settings.cache_control == "public, max-age=31536000, immutable"
    assert settings.tracing == "off"


def test_by_default_a_replaced_image_shows_everywhere_within_a_day():
    # GIVEN the default settings: thumbnail keys do not change when an upload is replaced
    settings = Settings.from_env(BASE)
    # WHEN the Cache-Control the thumbnails get is read
    directives = dict(
        part.strip().partition("=")[::2] for part in settings.cache_control.split(",")
    )
    # THEN a browser or CDN reuses a thumbnail for at most a day, stale serving included
    reuse = int(directives.get("max-age", 0)) + int(directives.get("stale-while-revalidate", 0))
    assert 0 < reuse <= 24 * 3600
    assert "immutable" not in directives


def test_a_misconfigured_function_fails_at_start_up():
    # GIVEN the function's environment with a bad THUMB_SIZES
    env = {**os.environ, **BASE, "THUMB_SIZES": "big,small"}
    # WHEN the handler module is imported (Lambda's init phase)
    result = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=REPO / "lambda",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # THEN init fails, and the message names the variable
    assert result.returncode != 0
    assert "SettingsError" in result.stderr
    assert "THUMB_SIZES" in result.stderr


@pytest.mark.parametrize(("memory", "expected"), [(None, 1024), ("512", 512), ("3008", 3008)])
def test_the_pixel_budget_follows_the_functions_memory_unless_set(memory, expected):
    # GIVEN MAX_INPUT_PIXELS unset (or 0, the template's default) and Lambda's memory size
    env = {**BASE, "MAX_INPUT_PIXELS": "0"}
    if memory:
        env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = memory
    # WHEN parsed / THEN the budget is the one for that memory (the template's 1024 MB if unset)
    assert Settings.from_env(env).max_input_pixels == pixel_budget(expected)
    # AND an explicit MAX_INPUT_PIXELS wins
    explicit = Settings.from_env({**env, "MAX_INPUT_PIXELS": "20000000"})
    assert explicit.max_input_pixels == 20_000_000


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("MAX_INPUT_PIXELS", "-1"),
        ("MAX_INPUT_PIXELS", "lots"),
        ("MAX_ANIMATION_FRAMES", "0"),
        ("MAX_ANIMATION_FRAMES", "2.5"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "big"),
    ],
)
def test_bad_limits_name_the_variable(name, raw):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**BASE, name: raw})


@pytest.mark.parametrize(
    "env", [{}, {"NOTIFICATION_TOPIC_ARN": ""}, {"NOTIFICATION_TOPIC_ARN": " "}]
)
def test_an_absent_or_empty_topic_turns_notifications_off(env):
    # GIVEN no topic / WHEN parsed / THEN there is none to publish to
    assert Settings.from_env({**BASE, **env}).notification_topic_arn == ""


def test_a_topic_arn_turns_notifications_on():
    settings = Settings.from_env({**BASE, "NOTIFICATION_TOPIC_ARN": TOPIC_ARN})
    assert settings.notification_topic_arn == TOPIC_ARN


@pytest.mark.parametrize("raw", ["thumbs", "arn:aws:sqs:us-east-1:123456789012:thumbs"])
def test_a_topic_that_is_not_an_sns_arn_names_the_variable(raw):
    # GIVEN a topic name instead of an ARN, or another service's ARN
    # WHEN parsed / THEN start-up fails, naming the variable and the value
    with pytest.raises(SettingsError, match="NOTIFICATION_TOPIC_ARN") as caught:
        Settings.from_env({**BASE, "NOTIFICATION_TOPIC_ARN": raw})
    assert repr(raw) in str(caught.value)


def test_renditions_are_off_by_default():
    settings = Settings.from_env(BASE)
    assert settings.output_formats == ("webp",)
    assert (settings.crop_sizes, settings.write_manifest) == ((), False)
    assert settings.avif_quality == 70


def test_renditions_settings_are_parsed():
    settings = Settings.from_env(
        {
            **BASE,
            "OUTPUT_FORMATS": "avif,webp",
            "AVIF_QUALITY": "40",
            "CROP_SIZES": "1200x630,256x256,256x256",
            "WRITE_MANIFEST": "true",
        }
    )
    assert settings.output_formats == ("webp", "avif")
    assert settings.avif_quality == 40
    assert settings.crop_sizes == ((256, 256), (1200, 630))
    assert settings.write_manifest is True


def test_auto_quality_settings_are_parsed_and_off_by_default():
    # GIVEN the defaults, and AUTO_QUALITY on with a target
    # WHEN each is parsed
    default = Settings.from_env(BASE)
    chosen = Settings.from_env({**BASE, "AUTO_QUALITY": "true", "QUALITY_TARGET": "80"})
    # THEN the default is off at 75, and the values given are kept
    assert (default.auto_quality, default.quality_target) == (False, 75)
    assert (chosen.auto_quality, chosen.quality_target) == (True, 80)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUTPUT_FORMATS", "png"),
        ("OUTPUT_FORMATS", "webp, avif"),
        ("OUTPUT_FORMATS", ""),
        ("AVIF_QUALITY", "101"),
        ("CROP_SIZES", "256"),
        ("CROP_SIZES", "0x10"),
        ("CROP_SIZES", "20000x10"),
        ("CROP_SIZES", "256x256,"),
        ("WRITE_MANIFEST", "yes"),
        ("AUTO_QUALITY", "1"),
        ("QUALITY_TARGET", "101"),
        ("QUALITY_TARGET", "high"),
    ],
)
def test_bad_renditions_settings_are_named(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**BASE, name: value})


def test_widths_too_many_for_s3_metadata_are_refused_at_start_up():
    # GIVEN 400 four-digit widths: the settings every output records would pass S3's 2 KB
    widths = ",".join(str(width) for width in range(1000, 1400))
    # WHEN parsed / THEN start-up fails, naming the variables and S3's limit (not every upload)
    with pytest.raises(SettingsError, match=r"THUMB_SIZES.*2048"):
        Settings.from_env({**BASE, "THUMB_SIZES": widths})
    # AND a long but fitting list is still accepted
    assert len(Settings.from_env({**BASE, "THUMB_SIZES": "1000,1001,1002"}).thumb_widths) == 3


@pytest.mark.parametrize("raw", ["1", "3999999"])
def test_a_pixel_budget_too_small_for_a_photo_is_refused_at_start_up(raw):
    # GIVEN MAX_INPUT_PIXELS below a phone photo / WHEN parsed
    # THEN start-up fails with the minimum in the message (not every upload to the DLQ)
    with pytest.raises(SettingsError, match=r"MAX_INPUT_PIXELS must be 0 .* at least 4000000"):
        Settings.from_env({**BASE, "MAX_INPUT_PIXELS": raw})

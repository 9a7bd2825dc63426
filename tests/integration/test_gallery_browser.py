"""The demo's gallery in a real browser: headless Chromium opens out/index.html from the file
system and reports what it decoded (the page's own script writes it into <pre id="check">)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

from scripts.local import demo
from tests.integration.conftest import tool_missing

#: The Makefile's BROWSERS, in its order: Debian's package (what `make browser` installs), then
#: Google Chrome (GitHub's runners ship it), then Ubuntu's name.
CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "google-chrome", "chromium-browser"))),
    "/usr/bin/chromium",
)
#: No network, no first-run work, no sandbox (root cannot have one; GitHub's Ubuntu forbids its
#: user namespaces); every wait is bounded.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=5000",
)


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    tool_missing("chromium is not installed (`make browser` installs it as root)")


def browser_report(page: Path, profile: Path) -> dict:
    result = subprocess.run(
        [chromium_or_skip(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
         page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = re.search(r'<pre id="check"[^>]*>(.*?)</pre>', result.stdout, re.S)
    assert found, "the page's script wrote no report: " + result.stdout[-500:]
    return json.loads(html.unescape(found.group(1)))


def test_the_gallery_shows_every_rendition_decoded_at_its_size(tmp_path):
    # GIVEN the demo run with every rendition on (the samples include a broken file)
    chromium_or_skip()
    out = tmp_path / "out"
    assert demo.main(["--renditions", "--out", str(out)]) == 0
    manifests = {
        path: json.loads(path.read_text()) for path in out.rglob("*.json") if path.parent != out
    }
    expected = {
        item["key"]: (item["width"], item["height"])
        for manifest in manifests.values()
        for item in manifest["renditions"]
    }

    # WHEN the gallery is opened in headless Chromium, from the file system
    report = browser_report(out / "index.html", tmp_path / "profile")

    # THEN every rendition file the manifests list decoded, at the size the manifest says
    decoded = {
        unquote(item["src"].removeprefix(out.resolve().as_uri() + "/")): item
        for item in report["renditions"]
    }
    assert set(decoded) == set(expected)
    for key, (width, height) in expected.items():
        item = decoded[key]
        assert item["complete"], key
        assert (item["naturalWidth"], item["naturalHeight"]) == (width, height), key
    # AND each <picture> showed the AVIF (the first source), reserved the space its width and
    # height say, and decoded it
    assert report["shown"]
    for item in report["shown"]:
        assert item["complete"]
        assert item["naturalWidth"] > 0
        assert item["src"].endswith(".avif"), item["src"]
        assert item["width"] > 0
        assert item["height"] > 0
        # AND it is on the page at its own aspect ratio, not squeezed to nothing by the layout
        assert item["shownWidth"] >= 32, item["src"]
        shown_ratio = item["shownHeight"] / item["shownWidth"]
        assert abs(shown_ratio - item["height"] / item["width"]) < 0.02, item["src"]
    # AND every upload's placeholder was painted from its manifest's BlurHash
    hashes = {manifest["placeholder"]["hash"] for manifest in manifests.values()}
    assert {item["hash"] for item in report["placeholders"]} == hashes
    assert all(item["painted"] for item in report["placeholders"])
    # AND the broken sample is listed with its dead-letter reason
    page = (out / "index.html").read_text()
    assert "broken/not-really-a.jpg</code>: truncated_image" in page
    assert "http://" not in page
    assert "https://" not in page.replace("https://github.com/woltapp/blurhash", "")


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_without_a_browser_the_test_fails_under_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    # GIVEN no browser where the test looks, on CI (GitHub sets CI=true) or not
    monkeypatch.setattr(f"{__name__}.CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", ci)
    # WHEN the gallery test asks for one / THEN CI fails (never a green run that opened nothing)
    # and a laptop skips
    with pytest.raises(outcome, match="make browser"):
        chromium_or_skip()

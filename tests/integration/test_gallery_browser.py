"""The demo's gallery in a real browser: headless Chromium opens out/index.html from the file
system and reports what it decoded (the page's own script writes it into <pre id="check">);
then once more with scripts off, in a sandboxed frame of a page that reports for it."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
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


def browser_report(page: Path | str, profile: Path) -> dict:
    url = page if isinstance(page, str) else page.resolve().as_uri()
    result = subprocess.run(
        [chromium_or_skip(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = re.search(r'<pre id="check"[^>]*>(.*?)</pre>', result.stdout, re.S)
    assert found, "the page's script wrote no report: " + result.stdout[-500:]
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> tuple[Path, dict[Path, dict]]:
    """The demo run once with every rendition on (the samples include a broken file): its
    output folder and manifests."""
    chromium_or_skip()
    out = tmp_path_factory.mktemp("gallery") / "out"
    assert demo.main(["--renditions", "--out", str(out)]) == 0
    return out, {path: json.loads(path.read_text()) for path in out.rglob("*.json")}


def test_the_gallery_shows_every_rendition_decoded_at_its_size(gallery, tmp_path):
    # GIVEN the demo's output
    out, manifests = gallery
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
        assert item["shownWidth"] >= 32, item["src"]
        shown_ratio = item["shownHeight"] / item["shownWidth"]
        if item["card"]:
            # AND each 512w fills its square card, placed at its manifest's focus
            assert abs(shown_ratio - 1) < 0.02, item["src"]
        else:
            # AND the others are at their own aspect ratio, not squeezed by the layout
            assert abs(shown_ratio - item["height"] / item["width"]) < 0.02, item["src"]
    cards = {unquote(i["src"]).rsplit("/", 1)[1]: i for i in report["shown"] if i["card"]}
    assert len(cards) == len(manifests)
    for manifest in manifests.values():
        name = manifest["source"]["key"].rsplit("/", 1)[1].rsplit(".", 1)[0] + "_512w.avif"
        shown_at = [float(v.removesuffix("%")) for v in cards[name]["objectPosition"].split()]
        focus = manifest["focus"]
        assert shown_at == pytest.approx([focus["x"] * 100, focus["y"] * 100], abs=0.06), name
    check_placeholders(report, manifests)
    # AND the broken sample is listed with its dead-letter reason and explanation
    page = (out / "index.html").read_text()
    assert "broken/not-really-a.jpg</code>: truncated_image" in page
    assert '<span class="explanation">the JPEG data ends early' in page
    assert "http://" not in page
    assert "https://" not in page


def check_placeholders(report: dict, manifests: dict[Path, dict]) -> None:
    """Every upload's placeholder painted from its manifest's data_url, at its source's aspect
    ratio (within 5%)."""
    ratios = {
        m["placeholder"]["data_url"]: m["source"]["width"] / m["source"]["height"]
        for m in manifests.values()
    }
    painted = {item["src"]: item for item in report["placeholders"]}
    assert set(painted) == set(ratios)
    for url, item in painted.items():
        assert item["complete"], url
        assert item["naturalWidth"] > 0, url
        assert abs(item["naturalWidth"] / item["naturalHeight"] / ratios[url] - 1) <= 0.05, url


#: The page that reports for the gallery with scripts off: the gallery in a frame sandboxed
#: without `allow-scripts` (so none of its scripts runs) but same-origin, so this page's script
#: can read what the frame painted. Served over HTTP from 127.0.0.1: file: pages may not.
NO_SCRIPT_HARNESS = """<!doctype html><meta charset="utf-8">
<iframe sandbox="allow-same-origin" src="index.html" style="width: 1280px; height: 4000px">
</iframe><pre id="check"></pre>
<script>
window.addEventListener("load", () => {
  const page = document.querySelector("iframe").contentDocument;
  const describe = (img) => ({
    src: img.currentSrc || img.src, complete: img.complete, naturalWidth: img.naturalWidth,
    naturalHeight: img.naturalHeight, shownWidth: img.getBoundingClientRect().width,
    shownHeight: img.getBoundingClientRect().height });
  const ran = page.getElementById("check").textContent !== "";
  document.getElementById("check").textContent = JSON.stringify({ ran,
    images: [...page.querySelectorAll("img:not(.placeholder)")].map(describe),
    placeholders: [...page.querySelectorAll("img.placeholder")].map(describe),
    faded: page.querySelectorAll("img.placeholder.loaded").length });
});
</script>"""


def test_with_scripts_off_the_gallery_still_paints_every_placeholder_and_image(gallery, tmp_path):
    # GIVEN the demo's gallery, served from 127.0.0.1, in a frame where scripts cannot run
    out, manifests = gallery
    (out / "no-script.html").write_text(NO_SCRIPT_HARNESS, encoding="utf-8")
    handler = partial(SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # WHEN Chromium loads it
        url = f"http://127.0.0.1:{server.server_address[1]}/no-script.html"
        report = browser_report(url, tmp_path / "profile")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    # THEN none of the gallery's scripts ran (its report is empty, no placeholder faded)
    assert report["ran"] is False
    assert report["faded"] == 0
    # AND every placeholder painted from its data_url at its source's aspect ratio
    check_placeholders(report, manifests)
    # AND every image on the page (each <picture>, each rendition file) is shown, decoded
    expected = {item["key"] for m in manifests.values() for item in m["renditions"]}
    shown = {unquote(item["src"]).split("/", 3)[3] for item in report["images"]}
    assert expected <= shown
    for item in report["images"]:
        assert item["complete"], item["src"]
        assert item["naturalWidth"] > 0, item["src"]
        assert item["shownWidth"] > 0, item["src"]


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

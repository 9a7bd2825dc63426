"""What headless Chromium shows for image files: the first frame as an <img> paints it, and every
frame as its own decoder (WebCodecs' ImageDecoder) composites it, as RGBA pictures.

The page is served from 127.0.0.1 and posts what it decoded back there; Chromium, started for
it alone with a fresh profile, is stopped as soon as it has.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from tests.integration.test_gallery_browser import CHROMIUM_FLAGS, chromium_or_skip

#: The gallery test's flags but its virtual time budget: here the page says when it is done.
FLAGS = tuple(flag for flag in CHROMIUM_FLAGS if not flag.startswith("--virtual-time"))
TIMEOUT_SECONDS = 120
MAX_FRAMES = 8

PAGE = """<!doctype html><meta charset="utf-8"><script>
const files = %s;
function rgba(source, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d");
  context.drawImage(source, 0, 0);
  const data = context.getImageData(0, 0, width, height).data;
  let text = "";
  for (let i = 0; i < data.length; i += 8192) {
    text += String.fromCharCode.apply(null, data.subarray(i, i + 8192));
  }
  return {width, height, rgba: btoa(text)};
}
async function shown(file) {
  const found = {name: file.name, frames: [], shown: null};
  const img = new Image();
  img.src = "data:" + file.type + ";base64," + file.data;
  try {
    await img.decode();
    found.shown = rgba(img, img.naturalWidth, img.naturalHeight);
  } catch (error) { found.error = String(error); }
  try {
    const bytes = Uint8Array.from(atob(file.data), c => c.charCodeAt(0));
    const decoder = new ImageDecoder({data: bytes, type: file.type});
    await decoder.tracks.ready;
    await decoder.completed;
    const count = Math.min(decoder.tracks.selectedTrack.frameCount, %d);
    for (let index = 0; index < count; index++) {
      const frame = (await decoder.decode({frameIndex: index})).image;
      found.frames.push(rgba(frame, frame.displayWidth, frame.displayHeight));
      frame.close();
    }
  } catch (error) { found.decoderError = String(error); }
  return found;
}
(async () => {
  const results = [];
  for (const file of files) results.push(await shown(file));
  await fetch("/shown", {method: "POST", body: JSON.stringify(results)});
})();
</script>"""


@dataclass(frozen=True)
class Shown:
    """One file in Chromium: the <img>'s picture (None if it showed none) and its frames."""

    picture: Image.Image | None
    frames: tuple[Image.Image, ...]


def shown_by_chromium(files: Mapping[str, tuple[str, bytes]]) -> dict[str, Shown]:
    """What Chromium shows for each named (content type, bytes)."""
    chromium = chromium_or_skip()
    listed = [
        {"name": name, "type": kind, "data": base64.b64encode(data).decode()}
        for name, (kind, data) in files.items()
    ]
    page = (PAGE % (json.dumps(listed), MAX_FRAMES)).encode()
    posted: list[bytes] = []
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def do_POST(self) -> None:
            posted.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()
            done.set()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={profile}",
             f"http://127.0.0.1:{server.server_address[1]}/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            finished = done.wait(TIMEOUT_SECONDS)
        finally:
            browser.terminate()
            browser.wait(30)
            server.shutdown()
            server.server_close()
    assert finished, f"Chromium reported nothing in {TIMEOUT_SECONDS} s"
    return {item["name"]: _shown(item) for item in json.loads(posted[0])}


def _shown(item: dict) -> Shown:
    def picture(found: dict | None) -> Image.Image | None:
        if not found:
            return None
        size = (found["width"], found["height"])
        return Image.frombytes("RGBA", size, base64.b64decode(found["rgba"]))

    return Shown(picture(item["shown"]), tuple(picture(frame) for frame in item["frames"]))

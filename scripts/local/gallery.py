"""The demo's gallery: `out/index.html`, every upload's renditions used as a front-end should.

A static page that works from the file system and fetches nothing from the internet: per
upload a `<picture>` (AVIF source before WebP, `srcset`/`sizes` from the widths, `width` and
`height` from the manifest so that nothing shifts) over its placeholder (the manifest's
`data_url`, an `<img>`: it paints with scripts off), the 512w in a square card at the
manifest's focus (`object-fit: cover`, `object-position`), the crops beside it, every failure
with its dead-letter reason and explanation, and every rendition file in a table. A script in
the page records what the browser decoded into `<pre id="check">`, which the browser test
reads; nothing else needs it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from PIL import Image

GALLERY_FILE = "index.html"
_RENDITION = re.compile(r"^(?P<stem>.*)_(?P<name>(?P<width>\d+)w|\d+x\d+)\.(?P<format>webp|avif)$")
#: Formats in the order a <picture> offers them: the browser takes the first it supports.
_PICTURE_ORDER = ("avif", "webp")


@dataclass(frozen=True)
class Upload:
    """One uploaded image: its key, a description, the output keys made from it, and the
    dead-letter reason and its explanation if it failed."""

    key: str
    description: str
    outputs: list[str]
    dlq_reason: str = ""
    dlq_message: str = ""


@dataclass(frozen=True)
class Picture:
    key: str
    format: str
    name: str
    width: int
    height: int


def write_gallery(out_dir: Path, uploads: list[Upload]) -> Path:
    """Write `out_dir/index.html` over the files the demo downloaded into `out_dir`."""
    sections = [_section(out_dir, upload) for upload in uploads if not upload.dlq_reason]
    failures = [
        f"<li><code>{html.escape(u.key)}</code>: {html.escape(u.dlq_reason)}"
        f' <span class="explanation">{html.escape(u.dlq_message)}</span></li>'
        for u in uploads
        if u.dlq_reason
    ]
    pictures = [p for upload in uploads for p in _pictures(out_dir, upload.outputs)]
    files = "".join(
        f"<tr><td><code>{html.escape(p.key)}</code></td><td>{p.width}x{p.height}</td>"
        f'<td><img src="{_url(p.key)}" width="{p.width}" height="{p.height}" '
        f'data-format="{p.format}" alt="" class="file"></td></tr>'
        for p in pictures
    )
    page = _PAGE.format(
        uploads="\n".join(sections) or "<p>No image was processed.</p>",
        failures=(
            f"<h2>Sent to the dead-letter queue</h2><ul class=\"failures\">{''.join(failures)}</ul>"
            if failures
            else ""
        ),
        files=files,
        script=(Path(__file__).with_name("gallery.js")).read_text(encoding="utf-8"),
        style=_STYLE,
    )
    path = out_dir / GALLERY_FILE
    path.write_text(page, encoding="utf-8")
    return path


def _pictures(out_dir: Path, outputs: list[str]) -> list[Picture]:
    """The renditions among `outputs`, with their sizes: the manifest's if there is one."""
    manifest = _manifest(out_dir, outputs)
    sizes = {
        item["key"]: (item["width"], item["height"]) for item in manifest.get("renditions", [])
    }
    pictures = []
    for key in sorted(outputs):
        match = _RENDITION.match(key)
        if not match:
            continue
        if key not in sizes:
            with Image.open(out_dir / key) as image:
                sizes[key] = image.size
        width, height = sizes[key]
        pictures.append(Picture(key, match["format"], match["name"], width, height))
    return pictures


def _manifest(out_dir: Path, outputs: list[str]) -> dict:
    for key in outputs:
        if key.endswith(".json"):
            return json.loads((out_dir / key).read_text(encoding="utf-8"))
    return {}


def _section(out_dir: Path, upload: Upload) -> str:
    pictures = _pictures(out_dir, upload.outputs)
    manifest = _manifest(out_dir, upload.outputs)
    widths = [p for p in pictures if p.name.endswith("w")]
    crops = [p for p in pictures if not p.name.endswith("w")]
    placeholder = manifest.get("placeholder", {})
    focus = manifest.get("focus", {"x": 0.5, "y": 0.5})
    position = f"{focus['x'] * 100:.1f}% {focus['y'] * 100:.1f}%"
    main = _picture(widths, alt=upload.key, placeholder=placeholder)
    card = _picture(
        [p for p in widths if p.name == "512w"], alt=f"{upload.key} card", position=position
    )
    beside = "".join(
        _picture([p for p in crops if p.name == name], alt=f"{upload.key} {name}", crop=True)
        for name in dict.fromkeys(p.name for p in crops)
    )
    facts = html.escape(upload.description)
    if manifest:
        facts += (
            f" · focus {focus['x']:.2f}, {focus['y']:.2f} · "
            f"{html.escape(placeholder.get('algorithm', ''))} "
            f"<code>{html.escape(placeholder.get('hash', ''))}</code> · thumbhash "
            f"<code>{html.escape(placeholder.get('thumbhash', ''))}</code> · data_url "
            f"{len(placeholder.get('data_url', ''))} characters"
        )
    return (
        f'<section class="upload"><h2><code>{html.escape(upload.key)}</code></h2>'
        f'<p class="facts">{facts}</p><div class="renditions">{main}{card}'
        f'<div class="crops">{beside}</div></div></section>'
    )


def _picture(
    pictures: list[Picture],
    *,
    alt: str,
    placeholder: dict | None = None,
    position: str = "",
    crop: bool = False,
) -> str:
    """A `<picture>` of `pictures` in a frame: over the placeholder's `data_url` if given, in
    a square card at `position` (`object-position`) if given."""
    if not pictures:
        return ""
    largest = max(pictures, key=lambda p: (p.width, p.format == "webp"))
    fallback = max(
        (p for p in pictures if p.format == "webp"), key=lambda p: p.width, default=largest
    )
    sizes = f"(max-width: {fallback.width}px) 100vw, {fallback.width}px"
    sources = "".join(
        f'<source type="image/{fmt}" srcset="{_srcset([p for p in pictures if p.format == fmt])}"'
        f' sizes="{sizes}">'
        for fmt in _PICTURE_ORDER
        if any(p.format == fmt for p in pictures)
    )
    colour = (placeholder or {}).get("color", "transparent")
    under = ""
    if placeholder and placeholder.get("data_url"):
        under = (
            f'<img class="placeholder" src="{html.escape(placeholder["data_url"])}" alt=""'
            f' aria-hidden="true">'
        )
    kind = "crop" if crop else "card" if position else "main"
    style = f' style="object-position: {position}"' if position else ""
    return (
        f'<figure class="{kind}">'
        f'<div class="frame" style="background-color: {html.escape(colour)}; '
        f'max-width: {fallback.width}px">{under}<picture>{sources}'
        f'<img src="{_url(fallback.key)}" width="{fallback.width}" height="{fallback.height}"'
        f' alt="{html.escape(alt)}" decoding="async"{style}>'
        f"</picture></div><figcaption>{html.escape(fallback.name)}"
        f'{" card, object-position " + position if position else ""}</figcaption></figure>'
    )


def _srcset(pictures: list[Picture]) -> str:
    return ", ".join(f"{_url(p.key)} {p.width}w" for p in sorted(pictures, key=lambda p: p.width))


def _url(key: str) -> str:
    return quote(key)


_STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
.upload { margin-bottom: 2.5rem; }
.renditions { display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap; }
.crops { display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-start; }
figure { margin: 0; }
.frame { position: relative; overflow: hidden; }
.frame img { display: block; width: 100%; height: auto; position: relative; }
.crop .frame img { max-width: 256px; }
img.placeholder { position: absolute; inset: 0; width: 100%; height: 100%;
  transition: opacity .3s; }
img.placeholder.loaded { opacity: 0; }
.card .frame { width: 256px; aspect-ratio: 1 / 1; }
.card .frame img { width: 100%; height: 100%; object-fit: cover; }
.explanation { color: #666; }
.facts, figcaption { color: #666; font-size: 13px; }
.failures code { color: #a00; }
img.file { max-width: 160px; height: auto; }
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>serverless-image-pipeline: demo gallery</title>
<style>{style}</style>
</head>
<body>
<h1>Demo gallery</h1>
<p>Each upload as a front-end would show it: <code>&lt;picture&gt;</code> with the AVIF source
before the WebP one, <code>srcset</code> from the widths, the size from the manifest, the
placeholder until the image arrives, and the crops beside.</p>
{uploads}
{failures}
<details><summary>Every rendition file, as stored</summary>
<table class="files">{files}</table></details>
<pre id="check" hidden></pre>
<script>{script}</script>
</body>
</html>
"""

"""Every manifest the demo writes is valid against the published schema (schemas/manifest-v1.json),
and the schema describes every field written; a planted bad manifest is caught."""

from __future__ import annotations

import base64
import copy
import json
from io import BytesIO
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from PIL import Image

from scripts.local import demo

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "manifest-v1.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text())


def closed(schema: dict) -> dict:
    """The schema with no room for undescribed fields: published, v1 lets readers ignore what
    they do not know (additive changes); here, every field written must be in it."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:  # bounded: the schema is finite and acyclic
        node = stack.pop()
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
        stack += [child for child in node.values() if isinstance(child, dict)]
        stack += [child for child in node.get("properties", {}).values()]
    return schema


VALIDATOR = Draft202012Validator(closed(SCHEMA))


def manifests_in(out: Path) -> dict[Path, dict]:
    """Every manifest under the demo's output folder (the logs are .jsonl)."""
    return {path: json.loads(path.read_text()) for path in sorted(out.rglob("*.json"))}


def invalid_manifests(out: Path) -> dict[str, list[str]]:
    return {
        str(path.relative_to(out)): [error.message for error in errors]
        for path, document in manifests_in(out).items()
        if (errors := list(VALIDATOR.iter_errors(document)))
    }


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    """The demo run once with every rendition on (samples: five images, one broken file)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    assert demo.main(["--renditions", "--out", str(out)]) == 0
    return out


def test_the_schema_is_valid_json_schema():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema"]["const"] == "serverless-image-pipeline/manifest/v1"


def test_every_manifest_the_demo_writes_is_valid(demo_out):
    # GIVEN the demo's output / WHEN each manifest is checked against the closed schema
    manifests = manifests_in(demo_out)
    # THEN there is one per processed sample, and none has an error or an undescribed field
    assert len(manifests) == 5
    assert invalid_manifests(demo_out) == {}


def test_every_manifest_carries_a_data_url_at_the_sources_aspect_ratio_and_a_thumbhash(demo_out):
    for path, manifest in manifests_in(demo_out).items():
        placeholder, source = manifest["placeholder"], manifest["source"]
        assert len(placeholder["data_url"]) <= 1024, path
        encoded = placeholder["data_url"].removeprefix("data:image/webp;base64,")
        tiny = Image.open(BytesIO(base64.b64decode(encoded, validate=True)))
        ratio = source["width"] / source["height"]
        assert abs(tiny.width / tiny.height / ratio - 1) <= 0.05, (path, tiny.size)
        assert base64.b64decode(placeholder["thumbhash"], validate=True), path


BAD = {
    "focus outside the picture": lambda m: m["focus"].update(x=1.2),
    "a width as a string": lambda m: m["renditions"][0].update(width="512"),
    "a data URL over 1,024 characters": lambda m: m["placeholder"].update(
        data_url="data:image/webp;base64," + "A" * 1024
    ),
    "a colour by name": lambda m: m["placeholder"].update(color="red"),
    "a format never written": lambda m: m["renditions"][0].update(format="png"),
    "no source": lambda m: m.pop("source"),
    "a field the schema does not describe": lambda m: m["placeholder"].update(blurhash="x"),
    "another schema": lambda m: m.update(schema="serverless-image-pipeline/manifest/v2"),
}


@pytest.mark.parametrize("flaw", BAD)
def test_a_planted_bad_manifest_is_caught(demo_out, tmp_path, flaw):
    # GIVEN the demo's output with one manifest replaced by a flawed copy
    planted = tmp_path / "out"
    for path, manifest in manifests_in(demo_out).items():
        target = planted / path.relative_to(demo_out)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(manifest))
    bad = planted / "logos" / "logo.json"
    manifest = json.loads(bad.read_text())
    BAD[flaw](manifest)
    bad.write_text(json.dumps(manifest))
    # WHEN every manifest is checked / THEN exactly the planted one is reported
    assert list(invalid_manifests(planted)) == ["logos/logo.json"]

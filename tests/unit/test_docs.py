"""The README and docs/ name only things that exist, document everything the template exposes,
and link only to files and headings that are there: the docs cannot rot silently."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.templates import APP_TEMPLATE, OIDC_ROLE_TEMPLATE, OPERATOR_TEMPLATE, load
from thumbnailer.settings import ENV_VARS

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6}) (.+)$", re.M)
TABLE_ROW = re.compile(r"^\| (`[^|]+)\|", re.M)
MAKE_TARGET = re.compile(r"(?<![\w./-])make ([a-z][a-z-]*)")
REPO_PATH = re.compile(
    r"(?<![\w./:$<-])((?:scripts|tests|lambda|iac|events|docs|\.github)/[\w./-]*\w)"
)
PYTHON_MODULE = re.compile(r"python -m (scripts(?:\.\w+)+)")
PARAMETER_ASSIGNMENT = re.compile(r"(?<![\w$])([A-Z][a-z][A-Za-z0-9]*)=(?!=)")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _code(text: str) -> str:
    """Everything in fenced blocks and inline code spans: where commands and names are."""
    blocks = FENCE.findall(text)
    inline = INLINE_CODE.findall(FENCE.sub("", text))
    return "\n".join([*blocks, *inline])


def _documents_code() -> dict[Path, str]:
    return {path: _code(_text(path)) for path in DOCUMENTS}


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    plain = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return plain.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(match.group(2)) for match in HEADING.finditer(FENCE.sub("", _text(path)))}


def _reference_table_names() -> set[str]:
    """Every backticked name in the first cell of a table row, in the README and docs/."""
    names: set[str] = set()
    for path in DOCUMENTS:
        for cell in TABLE_ROW.findall(FENCE.sub("", _text(path))):
            names.update(INLINE_CODE.findall(cell))
    return names


def _help_targets() -> list[str]:
    help_text = subprocess.run(
        ["make", "--no-print-directory", "-s", "help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return re.findall(r"^  make (\S+)", help_text, re.M)


def test_the_readme_is_a_front_door_and_the_reference_lives_in_docs():
    # GIVEN the README and the reference documents
    readme = _text(REPO / "README.md")

    # WHEN the README is measured and its links are read
    linked = set(LINK.findall(readme))

    # THEN it fits on a few screens and links to every reference document
    assert len(readme.splitlines()) <= 200
    missing = [p.name for p in DOCUMENTS[1:] if f"docs/{p.name}" not in linked]
    assert not missing, f"reference documents the README does not link to: {missing}"
    # AND every reference document links back to the README
    assert all("](../README.md" in _text(path) for path in DOCUMENTS[1:])


def test_make_help_lists_every_target_once_with_its_line():
    # GIVEN the Makefile's phony targets
    makefile = _text(REPO / "Makefile")
    phony = set(re.findall(r"^\.PHONY: ([a-z][a-z-]*)$", makefile, re.M))

    # WHEN make help is run
    listed = _help_targets()

    # THEN each target is listed exactly once, and nothing else is
    assert sorted(listed) == sorted(phony)


def test_every_make_target_the_docs_name_exists():
    # GIVEN the targets make help lists
    targets = set(_help_targets())

    # WHEN every `make <target>` in the README's and docs' code is collected
    named = {
        (path.name, target)
        for path, code in _documents_code().items()
        for target in MAKE_TARGET.findall(code)
    }

    # THEN each one is a target
    assert named, "no make command found: the pattern is broken"
    unknown = sorted((doc, target) for doc, target in named if target not in targets)
    assert not unknown, f"make targets named in the docs that do not exist: {unknown}"


def test_every_path_and_module_the_docs_name_exists():
    # GIVEN the README and docs/
    paths, modules = set(), set()
    for path in DOCUMENTS:
        text = _text(path)

        # WHEN every repository path and every `python -m scripts...` module is collected
        paths.update((path.name, found) for found in REPO_PATH.findall(text))
        modules.update((path.name, found) for found in PYTHON_MODULE.findall(_code(text)))

    # THEN each one is in the repository
    assert any(found == "scripts/invoke_local.sh" for _, found in paths)
    assert modules, "no python -m command found: the pattern is broken"
    missing = sorted((doc, p) for doc, p in paths if not (REPO / p).exists())
    missing += sorted(
        (doc, m) for doc, m in modules if not (REPO / (m.replace(".", "/") + ".py")).exists()
    )
    assert not missing, f"named in the docs but not in the repository: {missing}"


def test_every_parameter_the_docs_set_is_a_template_parameter():
    # GIVEN the parameters of every template
    parameters = {
        name
        for template in (APP_TEMPLATE, OIDC_ROLE_TEMPLATE, OPERATOR_TEMPLATE)
        for name in load(template)["Parameters"]
    }

    # WHEN every `Name=value` in the docs' code and every parameter-table row is collected
    named = {
        (path.name, name)
        for path, code in _documents_code().items()
        for name in PARAMETER_ASSIGNMENT.findall(code)
    }
    for path in DOCUMENTS:
        for table in re.findall(r"^\| Parameter \|.*?(?=^$)", _text(path), re.M | re.S):
            for cell in TABLE_ROW.findall(table):
                named.update((path.name, name) for name in INLINE_CODE.findall(cell))

    # THEN each one is a parameter
    assert any(name == "IngestMode" for _, name in named)
    unknown = sorted((doc, name) for doc, name in named if name not in parameters)
    assert not unknown, f"parameters named in the docs that no template has: {unknown}"


def test_every_template_parameter_and_environment_variable_is_in_a_reference_table():
    # GIVEN the application template's parameters and the function's environment
    template = load(APP_TEMPLATE)
    function = template["Resources"]["ThumbnailFunction"]["Properties"]
    variables = {
        *template["Globals"]["Function"]["Environment"]["Variables"],
        *function["Environment"]["Variables"],
        *ENV_VARS,
    }

    # WHEN the names in the reference tables' first cells are collected
    documented = _reference_table_names()

    # THEN every parameter and every variable has a row
    missing = sorted((set(template["Parameters"]) | variables) - documented)
    assert not missing, f"not in any reference table of the README or docs/: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_resolves(document: Path):
    # GIVEN one document's links, other than to the web
    links = [link for link in LINK.findall(FENCE.sub("", _text(document))) if "://" not in link]

    # WHEN each is resolved against the document's folder
    broken = []
    for link in links:
        target, _, anchor = link.partition("#")
        path = (document.parent / target).resolve() if target else document
        heading_missing = bool(anchor) and path.suffix == ".md" and anchor not in _anchors(path)
        if not path.exists() or heading_missing:
            broken.append(link)

    # THEN the file exists, and so does the heading it points at
    assert links or document.name == "performance.md"
    assert not broken, f"{document.name}: broken links {broken}"

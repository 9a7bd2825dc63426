"""Every template parameter the function reads refuses at deploy time what it refuses at start-up.

A parameter whose value reaches the function's environment (`VAR: !Ref Parameter`) has a case
table below: values that must be accepted and values that must be refused. Each value goes
through the template's constraints, as CloudFormation applies them, and through
`Settings.from_env`, and both must give the expected answer. A parameter newly wired to an
environment variable has no table yet, and its test fails until one is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.template_variants import FUNCTION, Template
from tests.integration.template_variants import load as load_template
from thumbnailer.errors import SettingsError
from thumbnailer.settings import Settings

OK, REFUSED = True, False
BASE_ENV = {"OUTPUT_BUCKET": "thumbs", "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/1/dlq"}

#: Parameter -> (value, accepted?) pairs. Edges first: the limits, one past them, then the forms
#: a hand-typed value takes by mistake.
CASES: dict[str, list[tuple[str, bool]]] = {
    "ThumbnailSizes": [
        ("128,512", OK),
        ("1", OK),
        ("16383", OK),
        ("9999,16000,16383", OK),
        ("128,128", OK),
        ("16384", REFUSED),  # past WebP's largest side
        ("128,20000", REFUSED),
        ("99999", REFUSED),
        ("0", REFUSED),
        ("0128", REFUSED),
        ("", REFUSED),
        ("128,", REFUSED),
        ("128,,512", REFUSED),
        ("128;512", REFUSED),
        ("-5", REFUSED),
        ("1.5", REFUSED),
        ("\uff11\uff12\uff18", REFUSED),  # fullwidth 128: str.isdigit() says yes
    ],
    "WebPQuality": [
        ("0", OK),
        ("85", OK),
        ("100", OK),
        ("101", REFUSED),
        ("-1", REFUSED),
        ("85.5", REFUSED),
        ("085", REFUSED),
        ("", REFUSED),
        ("high", REFUSED),
        ("\uff18\uff15", REFUSED),  # fullwidth 85
    ],
    "InputPrefix": [
        ("uploads/", OK),
        ("a/b/", OK),
        ("users.v2/(raw)/", OK),
        ("", REFUSED),
        ("uploads", REFUSED),
        ("/uploads/", REFUSED),
        ("uploads//", REFUSED),
        ("up loads/", REFUSED),
        ("uploads/*", REFUSED),
    ],
    "MaxInputPixels": [
        ("0", OK),
        ("1", REFUSED),  # every upload would go to the DLQ
        ("3999999", REFUSED),
        ("4000000", OK),
        ("67108864", OK),
        ("-1", REFUSED),
        ("1.5", REFUSED),
        ("1e6", REFUSED),
        ("007", REFUSED),
        ("", REFUSED),
        ("\uff11", REFUSED),  # fullwidth 1
    ],
    "MaxAnimationFrames": [
        ("1", OK),
        ("300", OK),
        ("0", REFUSED),
        ("-1", REFUSED),
        ("2.5", REFUSED),
        ("", REFUSED),
        ("²", REFUSED),  # a superscript two: isdigit() says yes, int() raises
    ],
    "OutputFormats": [
        ("webp", OK),
        ("avif", OK),
        ("webp,avif", OK),
        ("avif,webp", OK),
        ("", REFUSED),
        ("png", REFUSED),
        ("webp,", REFUSED),
        ("WEBP", REFUSED),
        ("webp, avif", REFUSED),
    ],
    "AvifQuality": [
        ("0", OK),
        ("70", OK),
        ("100", OK),
        ("101", REFUSED),
        ("-1", REFUSED),
        ("70.5", REFUSED),
        ("070", REFUSED),
        ("", REFUSED),
        ("\uff17\uff10", REFUSED),  # fullwidth 70
    ],
    "CropSizes": [
        ("", OK),
        ("256x256", OK),
        ("256x256,1200x630", OK),
        ("16383x1", OK),
        ("16384x256", REFUSED),  # past WebP's largest side
        ("256x20000", REFUSED),
        ("0x256", REFUSED),
        ("0x5", REFUSED),
        (" 1x1", REFUSED),
        ("256X256", REFUSED),
        ("256x256,", REFUSED),
        ("256", REFUSED),
    ],
    "WriteManifest": [
        ("true", OK),
        ("false", OK),
        ("True", REFUSED),
        ("yes", REFUSED),
        ("", REFUSED),
    ],
    "AutoQuality": [
        ("true", OK),
        ("false", OK),
        ("TRUE", REFUSED),
        ("", REFUSED),
    ],
    "QualityTarget": [
        ("0", OK),
        ("75", OK),
        ("100", OK),
        ("101", REFUSED),
        ("75.5", REFUSED),
        ("075", REFUSED),
        ("", REFUSED),
    ],
    "Tracing": [
        ("xray", OK),
        ("otel", OK),
        ("off", OK),
        ("", REFUSED),
        ("XRAY", REFUSED),
        ("x-ray", REFUSED),
        ("opentelemetry", REFUSED),
        ("none", REFUSED),
        ("false", REFUSED),
    ],
    "ThumbnailCacheControl": [
        ("public, max-age=3600, stale-while-revalidate=82800", OK),
        ("public, max-age=31536000, immutable", OK),
        ("no-cache", OK),
        ("", REFUSED),
        ("public, max-age=60\r\nX-Injected: 1", REFUSED),
        ("public,\tmax-age=60", REFUSED),
        ("max-age=60 é", REFUSED),
    ],
}


def _parameter_refs(node: Any, parameters: set[str]) -> Iterator[str]:
    """Parameters whose value the node may take as is: a Ref, or a Ref in a branch of Fn::If."""
    if isinstance(node, dict):
        if list(node) == ["Ref"] and node["Ref"] in parameters:
            yield node["Ref"]
        elif list(node) == ["Fn::If"]:
            for branch in node["Fn::If"][1:]:
                yield from _parameter_refs(branch, parameters)


def parameters_read_by_the_function(template: Template) -> dict[str, str]:
    """Parameter -> the environment variable it sets, in Globals or on the function."""
    parameters = set(template["Parameters"])
    variables = {
        **template["Globals"]["Function"]["Environment"]["Variables"],
        **template["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"],
    }
    return {
        parameter: name
        for name, value in variables.items()
        for parameter in _parameter_refs(value, parameters)
    }


def accepted_by_cloudformation(declaration: dict[str, Any], value: str) -> bool:
    """CloudFormation's parameter checks: AllowedValues, AllowedPattern (the whole value),
    MinLength/MaxLength, and for Number its parse (integer or float) and MinValue/MaxValue."""
    if "AllowedValues" in declaration and value not in map(str, declaration["AllowedValues"]):
        return False
    if declaration["Type"] == "Number":
        try:
            number = float(value)
        except ValueError:
            return False
        return declaration.get("MinValue", number) <= number <= declaration.get("MaxValue", number)
    pattern = declaration.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        return False
    return declaration.get("MinLength", 0) <= len(value) <= declaration.get("MaxLength", len(value))


def accepted_by_settings(variable: str, value: str) -> bool:
    try:
        Settings.from_env({**BASE_ENV, variable: value})
    except SettingsError:
        return False
    return True


TEMPLATE = load_template()
READ_BY_FUNCTION = parameters_read_by_the_function(TEMPLATE)


@pytest.mark.parametrize("parameter", sorted(READ_BY_FUNCTION))
def test_template_and_settings_accept_and_refuse_the_same_values(parameter: str) -> None:
    # GIVEN a parameter that sets one of the function's environment variables, and its cases
    if parameter not in CASES:
        pytest.fail(
            f"{parameter} sets {READ_BY_FUNCTION[parameter]} but has no case table: add its good "
            f"and bad values to CASES in {__name__}"
        )
    declaration = TEMPLATE["Parameters"][parameter]
    variable = READ_BY_FUNCTION[parameter]

    # WHEN each value goes through the template's constraints and through the settings parser
    answers = {
        value: (
            accepted_by_cloudformation(declaration, value),
            accepted_by_settings(variable, value),
        )
        for value, _expected in CASES[parameter]
    }

    # THEN both give the expected answer for every value
    wrong = {
        value: {"template": by_template, "settings": by_settings, "expected": expected}
        for value, expected in CASES[parameter]
        for by_template, by_settings in [answers[value]]
        if (by_template, by_settings) != (expected, expected)
    }
    assert wrong == {}
    # AND the default is one of the values both accept
    default = str(declaration["Default"])
    assert accepted_by_cloudformation(declaration, default)
    assert accepted_by_settings(variable, default)


def test_every_case_table_belongs_to_a_parameter_the_function_reads() -> None:
    # GIVEN the case tables / WHEN compared with the parameters wired to the environment
    stale = set(CASES) - set(READ_BY_FUNCTION)
    # THEN none is left over from a parameter that no longer reaches the function
    assert stale == set()


def test_the_case_checker_applies_cloudformations_rules() -> None:
    # GIVEN declarations of each kind / WHEN values are checked / THEN as CloudFormation would
    number = {"Type": "Number", "MinValue": 1, "MaxValue": 10}
    assert [accepted_by_cloudformation(number, v) for v in ("1", "10", "2.5", "0", "11", "x")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    pattern = {"Type": "String", "AllowedPattern": "^[a-z]+$"}
    assert [accepted_by_cloudformation(pattern, v) for v in ("abc", "ab1", "")] == [
        True,
        False,
        False,
    ]
    allowed = {"Type": "String", "AllowedValues": ["true", "false"]}
    assert [accepted_by_cloudformation(allowed, v) for v in ("true", "yes")] == [True, False]

"""iac/template.yaml as CloudFormation sees it, without an AWS account.

load          the template as plain dicts and strs
resolve       what CloudFormation creates for some parameter values: conditions evaluated,
              false-conditioned resources and outputs gone, Fn::If replaced by its branch,
              AWS::NoValue dropped, mappings that only an untaken branch read gone
sam_transform the template after the SAM transform (the generated roles, policies, aliases...)
substitute    Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select and Fn::Split replaced by values

The tests check the template through these; the local twin builds the function's role with them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_TEMPLATE = REPO_ROOT / "iac" / "template.yaml"
OPERATOR_TEMPLATE = REPO_ROOT / "iac" / "operator-policy.yaml"

Template = dict[str, Any]

_NO_VALUE = object()
# ${Name} or ${Name.Attribute} inside Fn::Sub; ${!Literal} is an escape, not a reference.
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9:]+(?:\.[A-Za-z0-9.]+)?)\}")


def load(path: Path = APP_TEMPLATE) -> Template:
    """The template as plain dicts and strs (the decoder's node types get in the way of ==)."""
    from cfnlint.decode import cfn_yaml  # dev dependency; understands !Ref and friends

    return json.loads(json.dumps(cfn_yaml.load(str(path))))


def sam_transform(template: Template, parameters: dict[str, Any] | None = None) -> Template:
    """The template after the SAM transform, as CloudFormation receives it for `parameters`."""
    from samtranslator.translator.transform import transform

    sam_template = json.loads(json.dumps(template))
    for resource in sam_template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            # The transform wants the code in S3; sam build and sam deploy do that for real.
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"
    return transform(sam_template, parameters or {}, _NoManagedPolicies())


class _NoManagedPolicies:
    """Managed-policy lookups would call IAM; the template only names managed policies by ARN."""

    @staticmethod
    def load() -> dict[str, str]:
        return {}


def with_parameters(template: Template, parameters: dict[str, str]) -> Template:
    """The template unchanged but for the given parameters' defaults."""
    result = copy.deepcopy(template)
    for name, value in parameters.items():
        spec = result["Parameters"][name]
        spec["Default"] = int(value) if spec["Type"] == "Number" else value
    return result


def parameter_values(template: Template, parameters: dict[str, str]) -> dict[str, str]:
    """Every parameter's value: the given ones, the others' defaults."""
    defaults = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
    return defaults | parameters


def resolve(template: Template, parameters: dict[str, str]) -> Template:
    """What CloudFormation would create with these parameter values (the rest at default)."""
    values = parameter_values(template, parameters)
    conditions: dict[str, bool] = {}

    def condition(name: str) -> bool:
        if name not in conditions:
            conditions[name] = _evaluate(template["Conditions"][name], values, condition)
        return conditions[name]

    # The values become the defaults too, so that linters resolving a Ref see what CloudFormation
    # would pass.
    result = with_parameters(template, parameters)
    result.pop("Conditions", None)
    for section in ("Resources", "Outputs"):
        kept = {}
        for name, body in result.get(section, {}).items():
            if "Condition" in body and not condition(body.pop("Condition")):
                continue
            kept[name] = _choose_branches(body, condition)
        result[section] = kept
    # A mapping only the branches not taken read (Tracing=otel's layers) is not there either.
    used = _mappings_read(result.get("Resources", {})) | _mappings_read(result.get("Outputs", {}))
    mappings = {name: body for name, body in result.pop("Mappings", {}).items() if name in used}
    if mappings:
        result["Mappings"] = mappings
    return result


def _mappings_read(node: Any) -> set[str]:
    """The names of the mappings that Fn::FindInMap reads in `node`."""
    if isinstance(node, list):
        return set().union(*map(_mappings_read, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["Fn::FindInMap"][0]} if "Fn::FindInMap" in node else set()
    return found.union(*map(_mappings_read, node.values()))


def _evaluate(expression: Any, values: dict[str, str], condition: Any) -> Any:
    """Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition and Ref to a parameter."""
    if not isinstance(expression, dict):
        return str(expression)
    [(function, argument)] = expression.items()
    if function == "Ref":
        return values[argument]
    if function == "Condition":
        return condition(argument)
    operands = [_evaluate(item, values, condition) for item in argument]
    if function == "Fn::Equals":
        return operands[0] == operands[1]
    if function == "Fn::Not":
        return not operands[0]
    if function == "Fn::And":
        return all(operands)
    if function == "Fn::Or":
        return any(operands)
    raise ValueError(f"not a condition function: {function}")


def _choose_branches(node: Any, condition: Any) -> Any:
    if isinstance(node, list):
        items = [_choose_branches(item, condition) for item in node]
        return [item for item in items if item is not _NO_VALUE]
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return _choose_branches(when_true if condition(name) else when_false, condition)
        if node == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        items = {key: _choose_branches(value, condition) for key, value in node.items()}
        return {key: value for key, value in items.items() if value is not _NO_VALUE}
    return node


def substitute(node: Any, values: Mapping[str, str]) -> Any:
    """`node` with its intrinsic functions evaluated (after `resolve`: no Fn::If is left).

    `values` maps what a Ref or Fn::GetAtt names to its value: "Name" (a parameter, a pseudo
    parameter such as AWS::AccountId, or a resource's Ref) and "Name.Attribute".
    """
    if isinstance(node, list):
        return [substitute(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) != 1 or not next(iter(node)).startswith(("Ref", "Fn::")):
        return {key: substitute(value, values) for key, value in node.items()}
    [(function, argument)] = node.items()
    if function == "Ref":
        return values[argument]
    if function == "Fn::GetAtt":
        name = argument if isinstance(argument, str) else ".".join(argument)
        return values[name]
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        scope = {**values, **{k: substitute(v, values) for k, v in variables.items()}}
        return _SUB_VARIABLE.sub(lambda match: str(scope[match.group(1)]), text)
    if function == "Fn::Join":
        separator, items = argument
        return separator.join(substitute(items, values))
    if function == "Fn::Select":
        index, items = substitute(argument, values)
        return items[int(index)]
    if function == "Fn::Split":
        separator, text = substitute(argument, values)
        return text.split(separator)
    raise ValueError(f"cannot evaluate {function} locally")

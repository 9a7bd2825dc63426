"""iac/template.yaml with its deployment-shape parameters set, the way CloudFormation sees it.

with_parameters  the template as written, with other parameter defaults (for cfn-lint and
                 `sam validate --lint`, which check every branch of every condition)
resolve          what CloudFormation would create for those values: conditions evaluated,
                 false-conditioned resources and outputs gone, Fn::If replaced by its branch,
                 AWS::NoValue dropped (for checkov, and to prove each mode's dependencies)
dependency_cycle the first circular dependency among resources, or None

Loading and the SAM transform are tests/integration/templates.py's.
"""

from __future__ import annotations

import copy
import graphlib
import re
from typing import Any

from tests.integration import templates
from tests.integration.templates import APP_TEMPLATE as TEMPLATE_PATH
from tests.integration.templates import Template

FUNCTION = "ThumbnailFunction"
KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

#: The stack's other options, all on: delete sync, a KMS key, access logs, alarms by e-mail,
#: reserved and provisioned concurrency.
OPTIONS: dict[str, str] = {
    "SyncDeletes": "true",
    "KmsKeyArn": KMS_KEY_ARN,
    "AccessLogBucketName": "access-logs-123456789012",
    "AlarmEmail": "alarms@example.com",
    "ReservedConcurrency": "20",
    "LambdaProvisionedConcurrency": "2",
}

#: Each deployment shape alone, all of them together with every other option (in both ingest
#: modes), and none (the defaults).
MODES: dict[str, dict[str, str]] = {
    "defaults": {},
    "queue": {"IngestMode": "queue", "IngestBatchSize": "5", "IngestMaximumBatchingWindow": "2"},
    "notifications": {"EnableNotifications": "true"},
    "notification-email": {"NotificationEmail": "ops@example.com"},
    "cdn": {"EnableCdn": "true"},
    "renditions": {
        "OutputFormats": "webp,avif",
        "AvifQuality": "50",
        "CropSizes": "256x256,1200x630",
        "WriteManifest": "true",
    },
    "all": {
        "IngestMode": "queue",
        "NotificationEmail": "ops@example.com",
        "NotificationEmailOutcome": "all",
        "EnableCdn": "true",
        "OutputFormats": "webp,avif",
        "CropSizes": "256x256",
        "WriteManifest": "true",
        **OPTIONS,
    },
    "all-direct": {"EnableNotifications": "true", "EnableCdn": "true", **OPTIONS},
}

_NO_VALUE = object()
# ${Name} or ${Name.Attribute} inside Fn::Sub; ${!Literal} is an escape, not a reference.
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def load() -> Template:
    return templates.load(TEMPLATE_PATH)


def with_parameters(template: Template, parameters: dict[str, str]) -> Template:
    """The template unchanged but for the given parameters' defaults."""
    result = copy.deepcopy(template)
    for name, value in parameters.items():
        spec = result["Parameters"][name]
        spec["Default"] = int(value) if spec["Type"] == "Number" else value
    return result


def resolve(template: Template, parameters: dict[str, str]) -> Template:
    """What CloudFormation would create with these parameter values (the rest at default)."""
    values = {
        name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()
    } | parameters
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
    return result


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


def references(node: Any, names: set[str]) -> set[str]:
    """The names among `names` that `node` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item, names)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found |= {value} & names
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else value.split(".")[0]
                found |= {target} & names
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                found |= (set(_SUB_REFERENCE.findall(text)) - set(variables)) & names
                found |= references(variables, names)
            else:
                found |= references(value, names)
    return found


def dependency_graph(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource -> what it waits for: DependsOn, and every reference in its properties."""
    names = set(resources)
    graph = {}
    for name, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        graph[name] = set(depends_on) | references(resource.get("Properties", {}), names)
    return graph


def dependency_cycle(resources: dict[str, Any]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(dependency_graph(resources)).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def creation_order(resources: dict[str, Any]) -> list[str]:
    return list(graphlib.TopologicalSorter(dependency_graph(resources)).static_order())

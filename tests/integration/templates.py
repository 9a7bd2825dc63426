"""Reading the CloudFormation templates as CloudFormation would, without an AWS account."""

from __future__ import annotations

from typing import Any

from scripts.local.template_model import (
    APP_TEMPLATE,
    OPERATOR_TEMPLATE,
    REPO_ROOT,
    Template,
    load,
    sam_transform,
)

__all__ = ["APP_TEMPLATE", "OPERATOR_TEMPLATE", "REPO_ROOT", "Template", "load", "sam_transform"]

OIDC_ROLE_TEMPLATE = REPO_ROOT / "iac" / "github-oidc-role.yaml"
NO_VALUE = {"Ref": "AWS::NoValue"}


def with_conditions(node: Any, conditions: dict[str, bool]) -> Any:
    """`node` with the Fn::If on `conditions` decided (others kept) and AWS::NoValue dropped."""
    if isinstance(node, list):
        items = [with_conditions(item, conditions) for item in node]
        return [item for item in items if item != NO_VALUE]
    if isinstance(node, dict):
        if list(node) == ["Fn::If"] and node["Fn::If"][0] in conditions:
            name, when_true, when_false = node["Fn::If"]
            return with_conditions(when_true if conditions[name] else when_false, conditions)
        decided = {key: with_conditions(value, conditions) for key, value in node.items()}
        return {key: value for key, value in decided.items() if value != NO_VALUE}
    return node


def resources_of_type(template: Template, resource_type: str) -> dict[str, Any]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def cfn_lint_findings(text: str) -> list[str]:
    """cfn-lint's findings on a template, as `make lint` runs it: every rule level,
    informational ones included, and the serverless rules (cfn-lint-serverless)."""
    from cfnlint.api import ManualArgs, lint

    config = ManualArgs(
        regions=["us-east-1"], include_checks=["I"], append_rules=["cfn_lint_serverless.rules"]
    )
    return [str(match) for match in lint(text, config=config)]

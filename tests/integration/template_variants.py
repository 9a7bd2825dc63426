"""iac/template.yaml with its deployment-shape parameters set, the way CloudFormation sees it.

with_parameters  the template as written, with other parameter defaults (for cfn-lint and
                 `sam validate --lint`, which check every branch of every condition)
resolve          what CloudFormation would create for those values: conditions evaluated,
                 false-conditioned resources and outputs gone, Fn::If replaced by its branch,
                 AWS::NoValue dropped (for checkov, and to prove each mode's dependencies)
dependency_cycle the first circular dependency among resources, or None

`with_parameters` and `resolve` are scripts/local/template_model.py's (the local twin's too).
"""

from __future__ import annotations

import graphlib
import re
from typing import Any

from scripts.local.template_model import resolve, with_parameters
from tests.integration import templates
from tests.integration.templates import APP_TEMPLATE as TEMPLATE_PATH
from tests.integration.templates import Template

__all__ = ["resolve", "with_parameters"]

FUNCTION = "ThumbnailFunction"
KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

#: The stack's other options, each away from its default: delete sync off, a KMS key, access
#: logs, alarms by e-mail, another reserved and some provisioned concurrency.
OPTIONS: dict[str, str] = {
    "SyncDeletes": "false",
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
        "Tracing": "otel",
        **OPTIONS,
    },
    "all-direct": {"EnableNotifications": "true", "EnableCdn": "true", "Tracing": "off", **OPTIONS},
}

# ${Name} or ${Name.Attribute} inside Fn::Sub; ${!Literal} is an escape, not a reference.
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def load() -> Template:
    return templates.load(TEMPLATE_PATH)


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

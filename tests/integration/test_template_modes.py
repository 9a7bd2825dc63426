"""The deployment shapes (IngestMode, notifications, CDN): off by default, each wired right when
on, and every combination (with the stack's other options too: SyncDeletes, KmsKeyArn, ...)
transformed, dependency-checked, least-privilege, linted and scanned."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import sam_cli, tool_missing
from tests.integration.template_variants import (
    FUNCTION,
    MODES,
    Template,
    creation_order,
    dependency_cycle,
    load,
    references,
    resolve,
    with_parameters,
)
from tests.integration.templates import cfn_lint_findings, sam_transform

REPO_ROOT = Path(__file__).resolve().parents[2]
MODE_RESOURCES = {
    "IngestQueue",
    "IngestQueuePolicy",
    "IngestEventSourceMapping",
    "NotificationTopic",
    "NotificationEmailSubscription",
    "ThumbnailOriginAccessControl",
    "ThumbnailDistribution",
}
MODE_OUTPUTS = {
    "IngestQueueUrl",
    "IngestEventSourceMappingId",
    "NotificationTopicArn",
    "ThumbnailDistributionDomainName",
}
BASE_STATEMENTS = {
    "ReadUploads",
    "ListUploads",
    "WriteThumbnails",
    "ReadThumbnails",
    "ListThumbnails",
    "ReportFailures",
    "DeleteThumbnails",  # SyncDeletes, on by default
}
TLS_DENIES = {"DenyInsecureTransport", "DenyOutdatedTls"}
PREFIX_FILTER = {"S3Key": {"Rules": [{"Name": "prefix", "Value": {"Ref": "InputPrefix"}}]}}
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


@pytest.fixture(scope="module")
def template() -> Template:
    return load()


@pytest.fixture(scope="module")
def variants(template: Template) -> dict[str, Template]:
    """What CloudFormation would create in each shape."""
    return {mode: resolve(template, parameters) for mode, parameters in MODES.items()}


def statements(variant: Template) -> dict[str, dict[str, Any]]:
    function = variant["Resources"][FUNCTION]["Properties"]
    return {s["Sid"]: s for document in function["Policies"] for s in document["Statement"]}


def bucket_policy_statements(variant: Template, bucket: str) -> dict[str, dict[str, Any]]:
    policies = [
        resource["Properties"]
        for resource in variant["Resources"].values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
        and resource["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    [policy] = policies  # S3 allows one policy per bucket
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


@pytest.mark.parametrize("mode", MODES)
def test_each_shape_transforms_and_orders_without_a_circular_dependency(
    variants: dict[str, Template], mode: str
) -> None:
    # GIVEN the shape's resources after the SAM transform
    resources = sam_transform(variants[mode])["Resources"]

    # WHEN their dependencies are ordered
    cycle = dependency_cycle(resources)
    order = creation_order(resources) if cycle is None else []

    # THEN there is no cycle (cfn-lint skips this check for SAM resources)
    assert cycle is None, " -> ".join(cycle)
    # AND the input bucket's notification is configured only once S3 may deliver to its target
    target = "IngestQueuePolicy" if "IngestQueue" in resources else f"{FUNCTION}UploadPermission"
    assert order.index(target) < order.index("InputBucket")
    assert order.index(f"{FUNCTION}Role") < order.index("InputBucket")


def test_the_template_with_every_condition_unresolved_has_no_cycle_either(
    template: Template,
) -> None:
    # GIVEN every branch of every condition at once (a superset of any one shape's references)
    resources = sam_transform(template)["Resources"]
    # WHEN / THEN they still order
    assert dependency_cycle(resources) is None


def test_every_shape_is_off_by_default(template: Template, variants: dict[str, Template]) -> None:
    # GIVEN the stack deployed with the default parameters
    defaults = variants["defaults"]

    # WHEN its resources, outputs, permissions and environment are read
    resources, outputs = set(defaults["Resources"]), set(defaults["Outputs"])
    environment = defaults["Resources"][FUNCTION]["Properties"]["Environment"]["Variables"]

    # THEN none of the shapes' resources or outputs exist, nor their permissions
    assert resources & MODE_RESOURCES == set()
    assert outputs & MODE_OUTPUTS == set()
    assert set(statements(defaults)) == BASE_STATEMENTS
    # AND the output bucket's one policy only denies (TLS); nothing but IAM grants access
    assert set(bucket_policy_statements(defaults, "OutputBucket")) == TLS_DENIES
    # AND S3 invokes the function directly, and notifications are off (empty topic)
    assert template["Parameters"]["IngestMode"]["Default"] == "direct"
    assert environment["NOTIFICATION_TOPIC_ARN"] == ""
    assert f"{FUNCTION}UploadPermission" in resources


def test_direct_mode_lets_only_this_bucket_invoke_the_live_alias(
    variants: dict[str, Template],
) -> None:
    # GIVEN the default shape's invoke permission
    resources = variants["defaults"]["Resources"]
    permission = resources[f"{FUNCTION}UploadPermission"]["Properties"]
    bucket_name = resources["InputBucket"]["Properties"]["BucketName"]

    # WHEN / THEN S3 may invoke the alias, from this account and this bucket only, named by the
    # bucket's own name expression (a reference to the bucket would close a cycle)
    assert permission["FunctionName"] == {"Ref": f"{FUNCTION}.Alias"}
    assert permission["Principal"] == "s3.amazonaws.com"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert permission["SourceArn"] == {
        "Fn::Sub": ["arn:${AWS::Partition}:s3:::${BucketName}", {"BucketName": bucket_name}]
    }


def test_queue_mode_routes_uploads_through_an_encrypted_ingest_queue(
    variants: dict[str, Template],
) -> None:
    # GIVEN the stack deployed with IngestMode=queue
    resources = variants["queue"]["Resources"]
    bucket_name = resources["InputBucket"]["Properties"]["BucketName"]

    # WHEN the bucket's notification, the queue, its policy and the event source are read
    notification = resources["InputBucket"]["Properties"]["NotificationConfiguration"]
    queue = resources["IngestQueue"]["Properties"]
    [statement] = resources["IngestQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    mapping = resources["IngestEventSourceMapping"]["Properties"]

    # THEN uploads (and deletes, SyncDeletes being on) under the prefix notify the queue, and
    # S3 no longer invokes the function
    queue_arn = {"Fn::GetAtt": ["IngestQueue", "Arn"]}
    assert notification == {
        "QueueConfigurations": [
            {
                "Event": event,
                "Queue": {"Fn::Select": [0, [queue_arn, {"Ref": "IngestQueuePolicy"}]]},
                "Filter": PREFIX_FILTER,
            }
            for event in ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
        ]
    }
    assert f"{FUNCTION}UploadPermission" not in resources
    # AND the queue is encrypted, keeps messages while paused, and redrives to the DLQ
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["VisibilityTimeout"] == {"Ref": "IngestVisibilityTimeout"}
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["FailedEventQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "IngestMaxReceiveCount"},
    }
    # AND only S3, for this bucket in this account, may send to it
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == queue_arn
    assert statement["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": {
                "Fn::Sub": ["arn:${AWS::Partition}:s3:::${BucketName}", {"BucketName": bucket_name}]
            }
        },
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
    assert references(resources["IngestQueuePolicy"], {"InputBucket"}) == set()
    # AND the live alias consumes it in batches, reporting partial failures
    assert mapping == {
        "EventSourceArn": queue_arn,
        "FunctionName": {"Ref": f"{FUNCTION}.Alias"},
        "BatchSize": {"Ref": "IngestBatchSize"},
        "MaximumBatchingWindowInSeconds": {"Ref": "IngestMaximumBatchingWindow"},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    # AND the function's role may consume that queue, nothing more
    consume = statements(variants["queue"])["ConsumeIngestQueue"]
    assert sorted(consume["Action"]) == [
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]
    assert consume["Resource"] == queue_arn
    assert {"IngestQueueUrl", "IngestEventSourceMappingId"} <= set(variants["queue"]["Outputs"])


def test_batching_parameters_respect_lambdas_limits(template: Template) -> None:
    # GIVEN the queue-mode parameters
    parameters = template["Parameters"]
    # WHEN / THEN a batch fits without a batching window (more than 10 would need one), the
    # window is within Lambda's 300 s, and the visibility timeout within SQS's 12 hours
    assert (
        parameters["IngestBatchSize"]["MinValue"],
        parameters["IngestBatchSize"]["MaxValue"],
    ) == (
        1,
        10,
    )
    assert parameters["IngestMaximumBatchingWindow"]["MaxValue"] == 300
    assert parameters["IngestVisibilityTimeout"]["MaxValue"] == 43200
    # AND the default visibility timeout is six times the default function timeout, as advised
    assert (
        parameters["IngestVisibilityTimeout"]["Default"]
        >= 6 * parameters["LambdaTimeout"]["Default"]
        + parameters["IngestMaximumBatchingWindow"]["Default"]
    )


@pytest.mark.parametrize("mode", ["notifications", "notification-email", "all", "all-direct"])
def test_notifications_publish_to_an_encrypted_topic_the_function_alone_may_use(
    variants: dict[str, Template], mode: str
) -> None:
    # GIVEN a shape with notifications on
    variant = variants[mode]
    resources = variant["Resources"]

    # WHEN the topic, the function's environment and its permissions are read
    topic = resources["NotificationTopic"]["Properties"]
    environment = resources[FUNCTION]["Properties"]["Environment"]["Variables"]
    publish = statements(variant)["PublishNotifications"]

    # THEN the topic is KMS-encrypted, the function learns it from its environment, and may
    # publish to it and to nothing else
    expected_key = {"Ref": "KmsKeyArn"} if "KmsKeyArn" in MODES[mode] else "alias/aws/sns"
    assert topic["KmsMasterKeyId"] == expected_key
    assert environment["NOTIFICATION_TOPIC_ARN"] == {"Ref": "NotificationTopic"}
    assert publish == {
        "Sid": "PublishNotifications",
        "Effect": "Allow",
        "Action": "sns:Publish",
        "Resource": {"Ref": "NotificationTopic"},
    }
    assert variant["Outputs"]["NotificationTopicArn"]["Value"] == {"Ref": "NotificationTopic"}


def test_an_email_subscription_filters_on_the_outcome(variants: dict[str, Template]) -> None:
    # GIVEN NotificationEmail set, with the default outcome filter, and with "all"
    failures_only = variants["notification-email"]["Resources"]
    everything = variants["all"]["Resources"]

    # WHEN their subscriptions are read
    subscription = failures_only["NotificationEmailSubscription"]["Properties"]
    unfiltered = everything["NotificationEmailSubscription"]["Properties"]

    # THEN the address is subscribed by e-mail, by default to failures only, else to all
    assert subscription["Protocol"] == "email"
    assert subscription["Endpoint"] == {"Ref": "NotificationEmail"}
    assert subscription["FilterPolicyScope"] == "MessageAttributes"
    assert subscription["FilterPolicy"] == {"outcome": [{"Ref": "NotificationEmailOutcome"}]}
    assert "FilterPolicy" not in unfiltered
    # AND without an address (EnableNotifications=true alone) there is a topic but no e-mail
    assert "NotificationEmailSubscription" not in variants["notifications"]["Resources"]


@pytest.mark.parametrize("mode", ["cdn", "all", "all-direct"])
def test_the_cdn_serves_only_thumbnails_from_a_private_bucket(
    variants: dict[str, Template], mode: str
) -> None:
    # GIVEN a shape with EnableCdn=true
    resources = variants[mode]["Resources"]

    # WHEN the distribution, its origin access control and the bucket's policy are read
    config = resources["ThumbnailDistribution"]["Properties"]["DistributionConfig"]
    access_control = resources["ThumbnailOriginAccessControl"]["Properties"][
        "OriginAccessControlConfig"
    ]
    policy_statements = bucket_policy_statements(variants[mode], "OutputBucket")
    statement = policy_statements["CloudFrontReadsThumbnails"]

    # THEN its one origin is the output bucket, reached with signed (OAC) requests
    assert access_control["OriginAccessControlOriginType"] == "s3"
    assert access_control["SigningBehavior"] == "always"
    assert access_control["SigningProtocol"] == "sigv4"
    assert config["Origins"] == [
        {
            "Id": "thumbnails",
            "DomainName": {"Fn::GetAtt": ["OutputBucket", "RegionalDomainName"]},
            "OriginAccessControlId": {"Fn::GetAtt": ["ThumbnailOriginAccessControl", "Id"]},
            "S3OriginConfig": {"OriginAccessIdentity": ""},
        }
    ]
    # AND viewers are sent to HTTPS, may only read, get compressed, long-cached responses
    behaviour = config["DefaultCacheBehavior"]
    assert "CacheBehaviors" not in config
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert behaviour["Compress"] is True
    assert behaviour["CachePolicyId"] == CACHING_OPTIMIZED
    # AND the bucket's one policy lets this distribution alone read renditions (*.webp,
    # *.avif) and manifests (*.json), next to its TLS-only denies, and the bucket stays private
    assert set(policy_statements) == TLS_DENIES | {"CloudFrontReadsThumbnails"}
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == [
        {"Fn::Sub": "${OutputBucket.Arn}/*.webp"},
        {"Fn::Sub": "${OutputBucket.Arn}/*.avif"},
        {"Fn::Sub": "${OutputBucket.Arn}/*.json"},
    ]
    source_arn, variables = statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source_arn.endswith(":cloudfront::${AWS::AccountId}:distribution/${Id}")
    assert variables == {"Id": {"Ref": "ThumbnailDistribution"}}
    public_access = resources["OutputBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert set(public_access.values()) == {True}
    # AND the stack outputs the distribution's domain name
    assert variants[mode]["Outputs"]["ThumbnailDistributionDomainName"]["Value"] == {
        "Fn::GetAtt": ["ThumbnailDistribution", "DomainName"]
    }


@pytest.mark.parametrize("mode", MODES)
def test_every_shape_grants_the_function_named_resources_only(
    variants: dict[str, Template], mode: str
) -> None:
    # GIVEN the function's statements in this shape
    granted = statements(variants[mode])

    # WHEN their actions and resources are read
    serialized = json.dumps(list(granted.values()))

    # THEN every statement allows named actions on named resources: no "*", no action wildcard
    assert all(statement["Effect"] == "Allow" for statement in granted.values())
    assert '"*"' not in serialized
    for statement in granted.values():
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in action for action in actions), statement
    # AND a shape's permission exists only in that shape
    parameters = MODES[mode]
    assert ("ConsumeIngestQueue" in granted) == (parameters.get("IngestMode") == "queue")
    notifying = "EnableNotifications" in parameters or "NotificationEmail" in parameters
    assert ("PublishNotifications" in granted) == notifying
    assert ("DeleteThumbnails" in granted) == ("SyncDeletes" not in parameters)
    assert ("UseEncryptionKey" in granted) == ("KmsKeyArn" in parameters)


@pytest.mark.parametrize("mode", ["all", "all-direct"])
def test_with_a_kms_key_the_shapes_use_it_and_the_function_may_only_through_its_services(
    variants: dict[str, Template], mode: str
) -> None:
    # GIVEN a shape with KmsKeyArn, notifications on, and the queue in "all"
    resources = variants[mode]["Resources"]

    # WHEN the queues', the topics' and the function's key settings are read
    kms = statements(variants[mode])["UseEncryptionKey"]
    services = kms["Condition"]["StringEquals"]["kms:ViaService"]

    # THEN the ingest queue (when there is one) and the notification topic use the key
    if "IngestQueue" in resources:
        queue = resources["IngestQueue"]["Properties"]
        assert queue["KmsMasterKeyId"] == {"Ref": "KmsKeyArn"}
        assert "SqsManagedSseEnabled" not in queue
    assert resources["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "KmsKeyArn"}
    # AND the function may use the key through S3, SQS and SNS only (it publishes encrypted)
    assert kms["Resource"] == {"Ref": "KmsKeyArn"}
    assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert [service["Fn::Sub"].split(".")[0] for service in services] == ["s3", "sqs", "sns"]


def test_with_a_kms_key_but_no_notifications_the_key_is_not_usable_through_sns(
    template: Template,
) -> None:
    # GIVEN KmsKeyArn without notifications / WHEN the function's key statement is read
    variant = resolve(template, {"KmsKeyArn": MODES["all"]["KmsKeyArn"]})
    services = statements(variant)["UseEncryptionKey"]["Condition"]["StringEquals"]
    # THEN only S3 and SQS may use it on the function's behalf
    assert [s["Fn::Sub"].split(".")[0] for s in services["kms:ViaService"]] == ["s3", "sqs"]


# --- the scanners, on every shape ------------------------------------------------------------


def _write_variants(variants: dict[str, Template], directory: Path, transformed: bool) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for mode, variant in variants.items():
        (directory / f"{mode}.json").write_text(
            json.dumps(sam_transform(variant) if transformed else variant, indent=1)
        )


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_cfn_lint_reports_nothing_on_each_shape(variants: dict[str, Template], mode: str) -> None:
    # GIVEN the shape's resources, conditions resolved
    text = json.dumps(variants[mode])
    # WHEN cfn-lint checks them with every rule level, informational ones included, and the
    # serverless rules, as `make lint` does
    findings = cfn_lint_findings(text)
    # THEN there is not a single finding
    assert findings == []


@pytest.mark.slow
def test_sam_validate_lint_passes_with_every_shape_switched_on(
    template: Template, tmp_path: Path
) -> None:
    # GIVEN the template with all the shapes' parameters on (test_template.py validates it with
    # them off; cfn-lint checks each shape alone, above)
    path = tmp_path / "all.json"
    path.write_text(json.dumps(with_parameters(template, MODES["all"])))
    sam = sam_cli()

    # WHEN the SAM CLI validates it with its built-in cfn-lint
    result = subprocess.run(
        [sam, "validate", "--lint", "--template-file", str(path)],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "HOME": str(tmp_path),
            "AWS_DEFAULT_REGION": "us-east-1",
            "SAM_CLI_TELEMETRY": "0",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # THEN it is valid, and nothing else is said
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{path} is a valid SAM Template"]


def _checkov() -> str:
    """checkov lives in the scanners' venv (its pins clash with the dev tools'); `make test` and
    `make lint` make it."""
    for candidate in (
        os.environ.get("CHECKOV", ""),
        str(REPO_ROOT / ".venv-scan" / "bin" / "checkov"),
        shutil.which("checkov") or "",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    tool_missing("checkov is not installed (make test installs it into .venv-scan)")


@pytest.mark.slow
def test_checkov_finds_nothing_in_any_shape(variants: dict[str, Template], tmp_path: Path) -> None:
    # GIVEN every shape, as written (SAM) and as CloudFormation gets it (after the transform)
    _write_variants(variants, tmp_path / "sam", transformed=False)
    _write_variants(variants, tmp_path / "cloudformation", transformed=True)

    # WHEN checkov scans them, offline
    command = [_checkov(), "--directory", str(tmp_path), "--framework", "cloudformation"]
    result = subprocess.run(
        [*command, "--skip-download", "--output", "json"],
        env={**os.environ, "HOME": str(tmp_path), "BC_SKIP_MAPPING": "TRUE"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    [report] = [json.loads(result.stdout)]
    results = report["results"]

    # THEN every shape's resources were scanned ...
    scanned = {
        check["resource"].split(".")[-1]
        for kind in ("passed_checks", "failed_checks", "skipped_checks")
        for check in results[kind]
    }
    assert scanned >= {
        "IngestQueue",
        "NotificationTopic",
        "ThumbnailDistribution",
        f"{FUNCTION}UploadPermission",
    }
    # ... and not a single check failed, in any shape
    failed = {(c["check_id"], c["resource"].split(".")[-1]) for c in results["failed_checks"]}
    assert failed == set(), sorted(failed)
    # AND every skip is justified next to the resource, the shapes' own included
    skipped = {check["resource"].split(".")[-1] for check in results["skipped_checks"]}
    assert {"IngestQueue", "ThumbnailDistribution"} <= skipped
    for check in results["skipped_checks"]:
        assert len(check["check_result"]["suppress_comment"]) > 40, check["check_id"]


def test_the_dead_letter_queues_outlive_every_queue_that_feeds_them_and_age_is_alarmed() -> None:
    # GIVEN the stack in queue mode (SQS keeps a message's first enqueue time when it moves it
    # to a dead-letter queue, so what is left of its life there is the difference)
    resources = resolve(load(), {"IngestMode": "queue"})["Resources"]
    queues = {
        name: resource["Properties"]
        for name, resource in resources.items()
        if resource["Type"] == "AWS::SQS::Queue"
    }

    # WHEN the queues that redrive to another are read
    feeders = {
        name: properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for name, properties in queues.items()
        if "RedrivePolicy" in properties
    }

    # THEN each keeps messages at most half as long as its dead-letter queue: a message moved
    # on its last day still has as long again there
    assert feeders == {"IngestQueue": "FailedEventQueue"}
    for name, target in feeders.items():
        retention = queues[name]["MessageRetentionPeriod"]
        assert 2 * retention <= queues[target]["MessageRetentionPeriod"]
    # AND an alarm watches the age of the oldest upload, days before it could expire
    (alarm,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("MetricName") == "ApproximateAgeOfOldestMessage"
        and r["Properties"]["Dimensions"]
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["IngestQueue", "QueueName"]}}]
    ]
    retention = queues["IngestQueue"]["MessageRetentionPeriod"]
    assert alarm["Threshold"] <= retention - 5 * 24 * 3600
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    # AND the dashboard charts that age for the ingest queue
    body, variables = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert variables["IngestQueueName"] == {"Fn::GetAtt": ["IngestQueue", "QueueName"]}
    rows = [row for w in json.loads(body)["widgets"] for row in w["properties"]["metrics"]]
    assert ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "${IngestQueueName}"] in [
        row[:4] for row in rows
    ]

"""iac/template.yaml is lint-clean, least-privilege, and agrees with the code by construction."""

from __future__ import annotations

import graphlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import sam_cli
from tests.integration.template_variants import (
    FUNCTION,
    TEMPLATE_PATH,
    Template,
    dependency_graph,
    references,
    resolve,
)
from tests.integration.template_variants import load as load_template
from tests.integration.templates import cfn_lint_findings, sam_transform

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_MAKEFILE = REPO_ROOT / "lambda" / "Makefile"
POWERTOOLS_ENV_VARS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}
# Set with Tracing=otel only, and read by Lambda and the ADOT layer, not by the code: the layer's
# wrapper script, and Application Signals off (traces only, to X-Ray).
OTEL_LAYER_ENV_VARS = {"AWS_LAMBDA_EXEC_WRAPPER", "OTEL_AWS_APPLICATION_SIGNALS_ENABLED"}


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template()


@pytest.fixture(scope="module")
def function(template: Template) -> dict[str, Any]:
    return template["Resources"][FUNCTION]["Properties"]


def _unconditional(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement itself, also when it is included only under a condition (Fn::If / NoValue)."""
    if "Fn::If" in statement:
        _condition, included, excluded = statement["Fn::If"]
        assert excluded == {"Ref": "AWS::NoValue"}
        return included
    return statement


@pytest.fixture(scope="module")
def policy_statements(function: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # A statement only some deployment shapes need is wrapped in Fn::If [condition, it, NoValue].
    return {
        statement["Sid"]: statement
        for document in function["Policies"]
        for statement in map(_unconditional, document["Statement"])
    }


@pytest.fixture(scope="module")
def transformed(template: Template) -> Template:
    """The template as CloudFormation sees it after the SAM transform (no AWS account needed)."""
    return sam_transform(template)


def _sam_executable() -> str:
    return sam_cli()


@pytest.mark.slow
def test_cfn_lint_reports_nothing_not_even_informational() -> None:
    # GIVEN the template as it is on disk
    text = TEMPLATE_PATH.read_text(encoding="utf-8")

    # WHEN cfn-lint checks it with every rule level, informational ones included, and the
    # serverless rules (cfn-lint-serverless) as `make lint` does
    findings = cfn_lint_findings(text)

    # THEN there is not a single finding
    assert findings == []


@pytest.mark.slow
def test_sam_validate_lint_passes_without_an_account(tmp_path: Path) -> None:
    # GIVEN the SAM CLI, no credentials file and no telemetry
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    }

    # WHEN it validates the template with its built-in cfn-lint
    result = subprocess.run(
        [_sam_executable(), "validate", "--lint", "--template-file", str(TEMPLATE_PATH)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # THEN it says the template is valid and reports nothing else
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{TEMPLATE_PATH} is a valid SAM Template"]


def test_function_gets_exactly_the_environment_the_settings_read(
    template: Template, function: dict[str, Any]
) -> None:
    # GIVEN the names the code reads (imported here so that only this test fails if they move)
    from thumbnailer.settings import ENV_VARS, LOCAL_ENDPOINT_ENV_VAR

    # WHEN the function's environment is merged with the Globals one, as SAM does
    global_variables = template["Globals"]["Function"]["Environment"]["Variables"]
    function_variables = function["Environment"]["Variables"]

    # THEN the names are exactly those, plus Powertools' two, which live in Globals, the
    # endpoint that only `sam local invoke` sets, and the two the ADOT layer reads
    assert set(global_variables) | set(function_variables) == (
        set(ENV_VARS) | POWERTOOLS_ENV_VARS | {LOCAL_ENDPOINT_ENV_VAR} | OTEL_LAYER_ENV_VARS
    )
    assert set(global_variables) == POWERTOOLS_ENV_VARS
    # AND each one is wired to the resource or parameter it is named after
    assert function_variables == {
        "OUTPUT_BUCKET": {"Ref": "OutputBucket"},
        "THUMB_SIZES": {"Ref": "ThumbnailSizes"},
        "WEBP_QUALITY": {"Ref": "WebPQuality"},
        "DLQ_URL": {"Ref": "DeadLetterQueue"},
        "INPUT_PREFIX": {"Ref": "InputPrefix"},
        "NOTIFICATION_TOPIC_ARN": {
            "Fn::If": ["HasNotifications", {"Ref": "NotificationTopic"}, ""]
        },
        # empty: in AWS, boto3 keeps its own endpoints
        LOCAL_ENDPOINT_ENV_VAR: "",
        "MAX_INPUT_PIXELS": {"Ref": "MaxInputPixels"},
        "MAX_ANIMATION_FRAMES": {"Ref": "MaxAnimationFrames"},
        "CACHE_CONTROL": {"Ref": "ThumbnailCacheControl"},
        "OUTPUT_FORMATS": {"Ref": "OutputFormats"},
        "AVIF_QUALITY": {"Ref": "AvifQuality"},
        "CROP_SIZES": {"Ref": "CropSizes"},
        "WRITE_MANIFEST": {"Ref": "WriteManifest"},
        "AUTO_QUALITY": {"Ref": "AutoQuality"},
        "QUALITY_TARGET": {"Ref": "QualityTarget"},
        "TRACING": {"Ref": "Tracing"},
        # with Tracing=otel only: the layer's wrapper, and traces without Application Signals
        "AWS_LAMBDA_EXEC_WRAPPER": {
            "Fn::If": ["TracingOtel", "/opt/otel-instrument", {"Ref": "AWS::NoValue"}]
        },
        "OTEL_AWS_APPLICATION_SIGNALS_ENABLED": {
            "Fn::If": ["TracingOtel", "false", {"Ref": "AWS::NoValue"}]
        },
    }


def test_parameters_have_the_contracted_names_and_defaults(template: Template) -> None:
    # GIVEN the parameters the README and the deploy scripts rely on
    expected_defaults = {
        "InputBucketName": "",
        "OutputBucketName": "",
        "ThumbnailSizes": "128,512",
        "WebPQuality": "85",
        "LambdaMemorySize": 1024,
        "LambdaTimeout": 60,
        "LambdaProvisionedConcurrency": 0,
        "InputPrefix": "uploads/",
        "LogRetentionDays": 30,
        "MaxInputPixels": "0",
        "MaxAnimationFrames": "300",
    }

    # WHEN the template's parameters are read
    parameters = template["Parameters"]

    # THEN each exists with its default (the values each one accepts are
    # test_parameters_agree_with_settings.py's)
    assert {name: parameters[name]["Default"] for name in expected_defaults} == expected_defaults


def test_empty_bucket_names_generate_account_unique_lowercase_names(template: Template) -> None:
    # GIVEN the two buckets
    resources = template["Resources"]

    for bucket, parameter in (
        ("InputBucket", "InputBucketName"),
        ("OutputBucket", "OutputBucketName"),
    ):
        # WHEN the bucket's name expression is read
        condition, generated, given = resources[bucket]["Properties"]["BucketName"]["Fn::If"]

        # THEN an empty parameter selects a name built from the account id and the stack id
        assert template["Conditions"][condition] == {"Fn::Equals": [{"Ref": parameter}, ""]}
        name_pattern, variables = generated["Fn::Sub"]
        assert "${AWS::AccountId}" in name_pattern
        # (the literal parts are lowercase; the account id is digits, the stack id lowercase hex)
        assert re.fullmatch(r"[a-z0-9.-]+", re.sub(r"\$\{[^}]*\}", "", name_pattern))
        assert "AWS::StackId" in json.dumps(variables)
        assert given == {"Ref": parameter}


def test_function_runs_python_313_on_arm64_traced_unless_tracing_is_off(
    template: Template, function: dict[str, Any]
) -> None:
    # GIVEN the Globals and the function's own properties
    global_function = template["Globals"]["Function"]

    # WHEN the effective values are taken (the function's own value wins over Globals)
    def effective(key: str) -> Any:
        return function.get(key, global_function.get(key))

    # THEN the function is Python 3.13 on Graviton, built by lambda/Makefile, and actively
    # traced by Lambda unless Tracing=off
    assert effective("Runtime") == "python3.13"
    assert effective("Architectures") == ["arm64"]
    assert effective("Tracing") == {"Fn::If": ["TracingOff", "PassThrough", "Active"]}
    assert template["Conditions"]["TracingOff"] == {"Fn::Equals": [{"Ref": "Tracing"}, "off"]}
    assert function["Handler"] == "app.lambda_handler"
    assert function["CodeUri"] == "../lambda/"
    assert template["Resources"][FUNCTION]["Metadata"]["BuildMethod"] == "makefile"
    assert re.search(rf"^build-{FUNCTION}:", LAMBDA_MAKEFILE.read_text(), re.MULTILINE)


def test_iam_statements_are_least_privilege(
    template: Template, policy_statements: dict[str, dict[str, Any]]
) -> None:
    # GIVEN the function's inline policy statements
    statements = list(policy_statements.values())
    input_bucket_name = template["Resources"]["InputBucket"]["Properties"]["BucketName"]

    # WHEN their actions and resources are read
    serialized = json.dumps(statements)

    # THEN nothing is granted on "*", by action or by resource, and nothing but Allow is used
    assert all(statement["Effect"] == "Allow" for statement in statements)
    for statement in statements:
        for field in ("Action", "Resource"):
            values = statement[field] if isinstance(statement[field], list) else [statement[field]]
            assert all(value != "*" for value in values), statement
            assert not any(isinstance(v, str) and v.endswith(":*") for v in values), statement
    assert '"*"' not in serialized
    # AND reads are limited to objects under the input prefix of the input bucket
    read = policy_statements["ReadUploads"]
    assert read["Action"] == "s3:GetObject"
    read_arn, read_variables = read["Resource"]["Fn::Sub"]
    assert read_arn == "arn:${AWS::Partition}:s3:::${BucketName}/${InputPrefix}*"
    # AND listing (needed for 404 rather than 403 on a missing key) is on the input bucket only,
    # unconditioned: S3's implicit check for a missing key carries no s3:prefix to match
    listing = policy_statements["ListUploads"]
    assert listing["Action"] == "s3:ListBucket"
    list_arn, list_variables = listing["Resource"]["Fn::Sub"]
    assert list_arn == "arn:${AWS::Partition}:s3:::${BucketName}"
    assert "Condition" not in listing
    # AND both use the bucket's own name expression, never a reference to the bucket resource
    assert read_variables == list_variables == {"BucketName": input_bucket_name}
    assert references(statements, {"InputBucket"}) == set()
    # AND writes go to the output bucket's objects only
    assert policy_statements["WriteThumbnails"]["Action"] == "s3:PutObject"
    assert policy_statements["WriteThumbnails"]["Resource"] == {"Fn::Sub": "${OutputBucket.Arn}/*"}
    # AND thumbnails may be read (the duplicate check) and, with SyncDeletes, deleted; the
    # output bucket may be listed so that a missing thumbnail is a 404, not a 403
    assert policy_statements["ReadThumbnails"]["Action"] == "s3:GetObject"
    assert policy_statements["ReadThumbnails"]["Resource"] == {"Fn::Sub": "${OutputBucket.Arn}/*"}
    assert policy_statements["ListThumbnails"]["Action"] == "s3:ListBucket"
    assert policy_statements["ListThumbnails"]["Resource"] == {
        "Fn::GetAtt": ["OutputBucket", "Arn"]
    }
    assert policy_statements["DeleteThumbnails"]["Action"] == "s3:DeleteObject"
    assert policy_statements["DeleteThumbnails"]["Resource"] == {"Fn::Sub": "${OutputBucket.Arn}/*"}
    # AND the function may send its records to the dead-letter queue; SAM's
    # DeadLetterQueuePolicy (from the function's DeadLetterQueue) grants Lambda's delivery of
    # failed events to the failed-event queue
    sends = [s for s in statements if "sqs:SendMessage" in json.dumps(s)]
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}]


def test_dead_letter_queue_is_encrypted_and_wired_to_the_function(
    template: Template, function: dict[str, Any]
) -> None:
    # GIVEN the queue
    queue = template["Resources"]["DeadLetterQueue"]

    # WHEN its properties and the function's async settings are read
    properties = queue["Properties"]
    invoke_config = function["EventInvokeConfig"]

    # THEN the queue is encrypted (SSE-SQS, or the KmsKeyArn key) and keeps messages for the
    # 14-day maximum
    assert queue["Type"] == "AWS::SQS::Queue"
    assert properties["SqsManagedSseEnabled"] == {
        "Fn::If": ["UseKms", {"Ref": "AWS::NoValue"}, True]
    }
    assert properties["KmsMasterKeyId"] == {
        "Fn::If": ["UseKms", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]
    }
    assert properties["MessageRetentionPeriod"] == 1209600
    # AND exhausted async events land in it, after Lambda's own retries
    assert function["DeadLetterQueue"] == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["FailedEventQueue", "Arn"]},
    }
    assert invoke_config == {
        "MaximumRetryAttempts": {"Ref": "AsyncRetryAttempts"},
        "MaximumEventAgeInSeconds": {"Ref": "AsyncMaxEventAgeSeconds"},
    }


def test_uploads_under_the_prefix_invoke_the_function(
    template: Template, function: dict[str, Any]
) -> None:
    # GIVEN the stack with its default parameters (IngestMode=direct), deletes not synced
    resources = resolve(template, {"SyncDeletes": "false"})["Resources"]

    # WHEN the input bucket's notification is read (written on the bucket, not as a SAM event,
    # so that IngestMode can choose its target)
    notification = resources["InputBucket"]["Properties"]["NotificationConfiguration"]

    # THEN object creation under the prefix invokes the function's live alias, and only that
    assert "Events" not in function
    assert notification == {
        "LambdaConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Function": {
                    "Fn::Select": [
                        0,
                        [
                            {"Ref": f"{FUNCTION}.Alias"},
                            {"Ref": f"{FUNCTION}UploadPermission"},
                        ],
                    ]
                },
                "Filter": {
                    "S3Key": {"Rules": [{"Name": "prefix", "Value": {"Ref": "InputPrefix"}}]}
                },
            }
        ]
    }


def test_sync_deletes_is_on_by_default_and_only_false_turns_it_off(
    template: Template, function: dict[str, Any]
) -> None:
    # GIVEN the SyncDeletes parameter and its condition
    parameter = template["Parameters"]["SyncDeletes"]
    condition = template["Conditions"]["SyncDeletesEnabled"]

    # WHEN the statement that deletes is read
    [delete_statement] = [
        s
        for document in function["Policies"]
        for s in document["Statement"]
        if "Fn::If" in s and s["Fn::If"][0] == "SyncDeletesEnabled"
    ]

    # THEN it is on by default: deleting a photo deletes its thumbnails (erasure requests)
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == (
        "true",
        ["false", "true"],
    )
    assert condition == {"Fn::Equals": [{"Ref": "SyncDeletes"}, "true"]}
    # AND s3:DeleteObject is granted only under that condition
    assert delete_statement["Fn::If"][1]["Action"] == "s3:DeleteObject"
    assert delete_statement["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    # AND by default the input bucket notifies of uploads and of deletes; "false" of uploads only
    for value, events in (
        (None, ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]),
        ("false", ["s3:ObjectCreated:*"]),
    ):
        given = {"SyncDeletes": value} if value else {}
        bucket = resolve(template, given)["Resources"]["InputBucket"]["Properties"]
        configurations = bucket["NotificationConfiguration"]["LambdaConfigurations"]
        assert [c["Event"] for c in configurations] == events


@pytest.mark.parametrize(
    ("ingest_mode", "kind"), [("direct", "LambdaConfigurations"), ("queue", "QueueConfigurations")]
)
def test_sync_deletes_sends_deletes_where_uploads_go(
    template: Template, ingest_mode: str, kind: str
) -> None:
    # GIVEN the stack with SyncDeletes on, in each ingest mode
    parameters = {"SyncDeletes": "true", "IngestMode": ingest_mode}
    bucket = resolve(template, parameters)["Resources"]["InputBucket"]["Properties"]

    # WHEN the input bucket's notification targets are read
    configurations = bucket["NotificationConfiguration"]
    [created, removed] = configurations[kind]

    # THEN uploads and deletes under the prefix go to the same target (the live alias, through
    # its invoke permission; or the ingest queue, through its policy), and to nothing else
    assert list(configurations) == [kind]
    assert (created["Event"], removed["Event"]) == ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
    assert {key: value for key, value in removed.items() if key != "Event"} == {
        key: value for key, value in created.items() if key != "Event"
    }
    assert removed["Filter"] == {
        "S3Key": {"Rules": [{"Name": "prefix", "Value": {"Ref": "InputPrefix"}}]}
    }


def test_the_transform_points_both_subscriptions_at_the_live_alias(template: Template) -> None:
    # GIVEN the direct-mode stack with SyncDeletes on, after the SAM transform
    resources = sam_transform(resolve(template, {"SyncDeletes": "true"}))["Resources"]

    # WHEN the input bucket's notification targets are read
    configurations = resources["InputBucket"]["Properties"]["NotificationConfiguration"][
        "LambdaConfigurations"
    ]
    targets = [c["Function"]["Fn::Select"][1] for c in configurations]

    # THEN uploads and deletes invoke the live alias, once S3 may invoke it
    assert [c["Event"] for c in configurations] == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    assert (
        targets == [[{"Ref": f"{FUNCTION}Aliaslive"}, {"Ref": f"{FUNCTION}UploadPermission"}]] * 2
    )
    permission = resources[f"{FUNCTION}UploadPermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": f"{FUNCTION}Aliaslive"}


def test_logs_go_to_a_log_group_with_retention(
    template: Template, function: dict[str, Any]
) -> None:
    # GIVEN the log group
    log_group = template["Resources"]["ThumbnailLogGroup"]

    # WHEN the function's logging config is read
    logging_config = function["LoggingConfig"]

    # THEN the function logs there, and the group expires logs after LogRetentionDays
    assert logging_config["LogGroup"] == {"Ref": "ThumbnailLogGroup"}
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_zero_provisioned_concurrency_turns_it_off(
    template: Template, transformed: Template
) -> None:
    # GIVEN the provisioned-concurrency condition
    condition = template["Conditions"]["HasProvisionedConcurrency"]

    # WHEN the SAM transform turns AutoPublishAlias into an alias
    alias = transformed["Resources"][f"{FUNCTION}Aliaslive"]

    # THEN the alias gets provisioned concurrency only when the parameter is not 0
    assert condition == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "LambdaProvisionedConcurrency"}, "0"]}]
    }
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {
        "Fn::If": [
            "HasProvisionedConcurrency",
            {"ProvisionedConcurrentExecutions": {"Ref": "LambdaProvisionedConcurrency"}},
            {"Ref": "AWS::NoValue"},
        ]
    }


def test_transformed_template_has_no_circular_dependency(transformed: Template) -> None:
    # GIVEN the resources CloudFormation will create (cfn-lint skips this check for SAM
    # resources, so a bucket -> permission -> function -> role -> bucket loop passes lint)
    resources = transformed["Resources"]

    # WHEN their dependencies (DependsOn, Ref, Fn::GetAtt, Fn::Sub) are ordered
    graph = dependency_graph(resources)
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"circular dependency: {' -> '.join(error.args[1])}")

    # THEN an order exists, and the notifying bucket comes after the function's role
    assert order.index(f"{FUNCTION}Role") < order.index("InputBucket")


def test_outputs_name_what_a_user_needs(template: Template) -> None:
    # GIVEN the stack outputs
    outputs = template["Outputs"]

    # WHEN their names are read
    names = set(outputs)

    # THEN the buckets, the queue and the function are all there
    assert {
        "InputBucketName",
        "OutputBucketName",
        "DeadLetterQueueUrl",
        "ThumbnailFunctionName",
        "ThumbnailFunctionArn",
    } <= names
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "DeadLetterQueue"}


def test_rendition_parameters_default_to_the_settings_own_defaults(template: Template) -> None:
    # GIVEN the four rendition parameters (the values each accepts, and that the settings accept
    # the same, are test_parameters_agree_with_settings.py's)
    from thumbnailer.settings import Settings

    parameters = template["Parameters"]

    # WHEN their defaults are compared with the settings' own
    defaults = Settings(output_bucket="out", dlq_url="q")

    # THEN they are the same
    assert parameters["OutputFormats"]["Default"] == ",".join(defaults.output_formats)
    assert parameters["AvifQuality"]["Default"] == str(defaults.avif_quality)
    assert parameters["CropSizes"]["Default"] == ""
    assert parameters["WriteManifest"]["Default"] == "false"


def _rule_holds(node: Any, parameters: dict[str, str]) -> bool:
    """A CloudFormation rule function (Fn::Equals, Fn::Not on Refs) for these parameter values."""
    if "Fn::Not" in node:
        return not _rule_holds(node["Fn::Not"][0], parameters)
    left, right = (
        parameters[side["Ref"]] if isinstance(side, dict) else str(side)
        for side in node["Fn::Equals"]
    )
    return left == right


@pytest.mark.parametrize(
    ("snap_start", "provisioned", "accepted"),
    [("false", "0", True), ("true", "0", True), ("false", "2", True), ("true", "2", False)],
)
def test_snapstart_is_refused_with_provisioned_concurrency(
    template: Template, snap_start: str, provisioned: str, accepted: bool
) -> None:
    # GIVEN the SnapStart parameter and the template's rules
    parameter = template["Parameters"]["SnapStart"]
    rules = template["Rules"].values()
    values = {"SnapStart": snap_start, "LambdaProvisionedConcurrency": provisioned}

    # WHEN CloudFormation would evaluate every rule that applies to these values
    holds = all(
        _rule_holds(assertion["Assert"], values)
        for rule in rules
        if _rule_holds(rule["RuleCondition"], values)
        for assertion in rule["Assertions"]
    )

    # THEN the stack is refused exactly when both are asked for; SnapStart is off by default
    assert holds is accepted
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == (
        "false",
        ["false", "true"],
    )


def test_snapstart_applies_to_published_versions_only_when_asked(transformed: Template) -> None:
    # GIVEN the function as CloudFormation receives it
    function = transformed["Resources"][FUNCTION]["Properties"]

    # WHEN its SnapStart setting is read
    snap_start = function["SnapStart"]

    # THEN it snapshots the published versions (the live alias's) only under the condition
    assert snap_start == {
        "Fn::If": [
            "SnapStartEnabled",
            {"ApplyOn": "PublishedVersions"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert transformed["Conditions"]["SnapStartEnabled"] == {
        "Fn::Equals": [{"Ref": "SnapStart"}, "true"]
    }


@pytest.mark.parametrize(
    ("parameters", "layers", "wrapper", "lambda_tracing"),
    [
        ({}, None, None, "Active"),
        ({"Tracing": "xray"}, None, None, "Active"),
        (
            {"Tracing": "otel"},
            [{"Fn::FindInMap": ["OtelPythonLayer", {"Ref": "AWS::Region"}, "Arn"]}],
            "/opt/otel-instrument",
            "Active",
        ),
        (
            {
                "Tracing": "otel",
                "OtelLayerArn": "arn:aws:lambda:eu-west-1:111122223333:layer:otel:7",
            },
            [{"Ref": "OtelLayerArn"}],
            "/opt/otel-instrument",
            "Active",
        ),
        ({"Tracing": "off"}, None, None, "PassThrough"),
        (
            {
                "Tracing": "off",
                "OtelLayerArn": "arn:aws:lambda:eu-west-1:111122223333:layer:otel:7",
            },
            None,
            None,
            "PassThrough",
        ),
    ],
)
def test_only_tracing_otel_adds_the_adot_layer_and_its_wrapper(
    template: Template,
    parameters: dict[str, str],
    layers: list[Any] | None,
    wrapper: str | None,
    lambda_tracing: str,
) -> None:
    # GIVEN the stack deployed with these parameters
    function = resolve(template, parameters)["Resources"][FUNCTION]["Properties"]

    # WHEN the function's layers, environment and Lambda tracing mode are read
    environment = function["Environment"]["Variables"]

    # THEN only otel has the layer (the region's AWS-managed one unless OtelLayerArn names
    # another), the wrapper that sets OpenTelemetry up and Application Signals off; off alone
    # turns Lambda's active tracing off; TRACING tells the code which tracer to set up
    assert function.get("Layers") == layers
    assert environment.get("AWS_LAMBDA_EXEC_WRAPPER") == wrapper
    assert environment.get("OTEL_AWS_APPLICATION_SIGNALS_ENABLED") == ("false" if wrapper else None)
    assert function["Tracing"] == lambda_tracing
    assert environment["TRACING"] == {"Ref": "Tracing"}
    assert template["Parameters"]["Tracing"]["Default"] == "xray"


def test_the_otel_layer_mapping_names_each_regions_own_aws_managed_layer(
    template: Template,
) -> None:
    # GIVEN the mapping of AWS-managed OpenTelemetry layers
    mapping = template["Mappings"]["OtelPythonLayer"]

    # WHEN each ARN is split into its parts
    parts = {region: entry["Arn"].split(":") for region, entry in mapping.items()}

    # THEN each is a layer version in its own region and partition, of the Python distro
    assert len(mapping) > 30
    assert {"us-east-1", "eu-west-1", "ap-northeast-1"} <= set(mapping)
    for region, (arn, partition, service, in_region, account, kind, name, version) in parts.items():
        assert (arn, service, kind, name) == (
            "arn",
            "lambda",
            "layer",
            "AWSOpenTelemetryDistroPython",
        )
        assert in_region == region
        assert partition == ("aws-cn" if region.startswith("cn-") else "aws")
        assert re.fullmatch(r"[0-9]{12}", account)
        assert int(version) > 0

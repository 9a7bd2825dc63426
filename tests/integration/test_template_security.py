"""The security and operations properties of the stack, read from the synthesized template.

Each property is checked on what CloudFormation receives (the template after the SAM transform),
and where a parameter switches it, for both settings of the parameter.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

import app
from scripts.support.sample_images import encode, photo
from tests.integration.conftest import event_of
from tests.integration.templates import (
    APP_TEMPLATE,
    Template,
    load,
    resources_of_type,
    sam_transform,
    with_conditions,
)

WITH_KMS = {"UseKms": True, "HasAccessLogs": True}
WITHOUT_KMS = {"UseKms": False, "HasAccessLogs": False}
BUCKETS = ("InputBucket", "OutputBucket")
NAMESPACE = {"Fn::Sub": "ServerlessImagePipeline/${AWS::StackName}"}
ALARM_METRICS = {
    "FailedEventsAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "BadObjectsAlarm": (NAMESPACE, "BadObjects"),
    "DeadLetterAgeAlarm": ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
    "FunctionErrorsAlarm": ("AWS/Lambda", "Errors"),
    "FunctionThrottlesAlarm": ("AWS/Lambda", "Throttles"),
    "FunctionDurationAlarm": ("AWS/Lambda", "Duration"),
    "IngestQueueAgeAlarm": ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
}


@pytest.fixture(scope="module")
def source() -> Template:
    return load(APP_TEMPLATE)


@pytest.fixture(scope="module")
def cfn(source: Template) -> Template:
    return sam_transform(source)


def _bucket(cfn: Template, name: str, conditions: dict[str, bool]) -> dict[str, Any]:
    return with_conditions(cfn["Resources"][name]["Properties"], conditions)


def test_buckets_block_every_kind_of_public_access_and_acls(cfn: Template) -> None:
    # GIVEN every bucket the stack creates
    buckets = resources_of_type(cfn, "AWS::S3::Bucket")

    # WHEN their access settings are read
    settings = {
        name: (
            bucket["Properties"]["PublicAccessBlockConfiguration"],
            bucket["Properties"]["OwnershipControls"],
        )
        for name, bucket in buckets.items()
    }

    # THEN all four Block Public Access flags are on and ACLs are disabled (owner enforced)
    assert set(settings) == set(BUCKETS)
    for public_access, ownership in settings.values():
        assert public_access == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert ownership == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


@pytest.mark.parametrize("bucket", BUCKETS)
def test_every_bucket_policy_denies_requests_without_tls_1_2(cfn: Template, bucket: str) -> None:
    # GIVEN the bucket policies of the stack
    policies = resources_of_type(cfn, "AWS::S3::BucketPolicy").values()

    # WHEN the one attached to this bucket is found (S3 allows one), without and with the CDN
    (policy,) = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": bucket}]
    written = policy["Properties"]["PolicyDocument"]["Statement"]
    statements = with_conditions(written, {"HasCdn": False})
    with_cdn = with_conditions(written, {"HasCdn": True})

    # THEN it denies everyone everything on the bucket and its objects without TLS, or below 1.2
    whole_bucket = [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": f"${{{bucket}.Arn}}/*"}]
    conditions = []
    for statement in statements:
        assert statement["Effect"] == "Deny"
        assert statement["Principal"] == "*"
        assert statement["Action"] == "s3:*"
        assert statement["Resource"] == whole_bucket
        conditions.append(statement["Condition"])
    assert {"Bool": {"aws:SecureTransport": False}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions
    # AND it allows nothing: access is granted by IAM only, but for EnableCdn, which adds the
    # CloudFront distribution's read of the thumbnails (test_template_modes.py checks it) and
    # keeps every deny
    assert all(statement["Effect"] != "Allow" for statement in statements)
    added = [statement for statement in with_cdn if statement not in statements]
    assert [s for s in with_cdn if s["Effect"] == "Deny"] == statements
    assert [(s["Principal"], s["Action"]) for s in added] == (
        [({"Service": "cloudfront.amazonaws.com"}, "s3:GetObject")]
        if bucket == "OutputBucket"
        else []
    )


@pytest.mark.parametrize("bucket", BUCKETS)
def test_buckets_encrypt_with_sse_s3_or_the_given_kms_key(cfn: Template, bucket: str) -> None:
    # GIVEN the bucket's default encryption, without and with KmsKeyArn
    def rule(conditions: dict[str, bool]) -> dict[str, Any]:
        encryption = _bucket(cfn, bucket, conditions)["BucketEncryption"]
        (only_rule,) = encryption["ServerSideEncryptionConfiguration"]
        return only_rule

    # WHEN the two settings are decided
    without_kms, with_kms = rule(WITHOUT_KMS), rule(WITH_KMS)

    # THEN it is SSE-S3 by default, and SSE-KMS with the key (and S3 Bucket Keys) when given
    assert without_kms == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    assert with_kms == {
        "ServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Ref": "KmsKeyArn"},
        },
        "BucketKeyEnabled": True,
    }


def test_input_bucket_keeps_originals_and_expires_old_versions(cfn: Template) -> None:
    # GIVEN the input bucket
    bucket = _bucket(cfn, "InputBucket", WITHOUT_KMS)

    # WHEN its versioning and lifecycle are read
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}

    # THEN versions are kept, and noncurrent ones expire after the configured number of days
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    old_versions = rules["ExpireOldVersions"]
    assert old_versions["Status"] == "Enabled"
    assert old_versions["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": {"Ref": "NoncurrentVersionRetentionDays"}
    }
    assert old_versions["ExpiredObjectDeleteMarker"] is True


@pytest.mark.parametrize("bucket", BUCKETS)
def test_server_access_logging_is_optional(cfn: Template, bucket: str) -> None:
    # GIVEN the bucket without and with AccessLogBucketName
    without_logs = _bucket(cfn, bucket, WITHOUT_KMS)
    with_logs = _bucket(cfn, bucket, WITH_KMS)

    # WHEN the logging configuration is read
    logging = with_logs["LoggingConfiguration"]

    # THEN logs go to the given bucket, under a prefix of their own, only when one is given
    assert "LoggingConfiguration" not in without_logs
    assert logging["DestinationBucketName"] == {"Ref": "AccessLogBucketName"}
    assert logging["LogFilePrefix"]["Fn::Sub"].startswith("${AWS::StackName}/")


def test_function_role_is_least_privilege(cfn: Template) -> None:
    # GIVEN the function's execution role as SAM generates it, with the KMS key given, delete
    # sync, queued ingestion and notifications on (every optional statement present)
    generated = cfn["Resources"]["ThumbnailFunctionRole"]["Properties"]
    every_option = {
        **WITH_KMS,
        "SyncDeletesEnabled": True,
        "RetiresManifestsOnly": True,
        "IsQueueIngest": True,
        "HasNotifications": True,
    }
    role = with_conditions(generated, every_option)

    # WHEN its statements are collected
    statements = [
        statement
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]

    # THEN each allows listed actions on named resources: no "*" resource, no action wildcard;
    # the only wildcards are object keys inside one named bucket (".../*", ".../${InputPrefix}*")
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        actions = actions if isinstance(actions, list) else [actions]
        assert all("*" not in action for action in actions), statement
        resource = json.dumps(statement["Resource"])
        assert "*" not in re.sub(r"}/(\$\{InputPrefix\})?\*", "}/", resource), statement
    # AND the key may only be used for decrypting and generating data keys, through S3, SQS and
    # (with notifications on) SNS
    (kms,) = [s for s in statements if any(a.startswith("kms:") for a in s["Action"])]
    assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Resource"] == {"Ref": "KmsKeyArn"}
    assert set(kms["Condition"]["StringEquals"]) == {"kms:ViaService"}
    services = kms["Condition"]["StringEquals"]["kms:ViaService"]
    assert [service["Fn::Sub"].split(".")[0] for service in services] == ["s3", "sqs", "sns"]
    # AND without a key there is no KMS permission at all
    without_kms = with_conditions(
        generated,
        {
            **WITHOUT_KMS,
            "SyncDeletesEnabled": False,
            "RetiresManifestsOnly": False,
            "IsQueueIngest": False,
            "HasNotifications": False,
        },
    )
    assert "kms:" not in json.dumps(without_kms)
    # AND thumbnails may be deleted only with delete sync on; without it, only manifests (an
    # overwrite retires the old one first), and only when they are written
    assert "s3:DeleteObject" in json.dumps(statements)
    assert "s3:DeleteObject" not in json.dumps(without_kms)
    manifests_only = with_conditions(
        generated, {**WITHOUT_KMS, "SyncDeletesEnabled": False, "RetiresManifestsOnly": True}
    )
    deleting = [
        (statement["Sid"], statement["Resource"])
        for policy in manifests_only["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if statement.get("Action") == "s3:DeleteObject"
    ]
    assert deleting == [("RetireManifests", {"Fn::Sub": "${OutputBucket.Arn}/*.json"})]
    # AND the only managed policies are Lambda's logging and X-Ray's write-only ones
    assert sorted(arn.rsplit("/", 1)[1] for arn in role["ManagedPolicyArns"]) == [
        "AWSLambdaBasicExecutionRole",
        "AWSXrayWriteOnlyAccess",
    ]


@pytest.mark.parametrize("queue_name", ["DeadLetterQueue", "FailedEventQueue"])
@pytest.mark.parametrize("use_kms", [False, True])
def test_dead_letter_queues_are_encrypted_wired_and_keep_14_days(
    cfn: Template, use_kms: bool, queue_name: str
) -> None:
    # GIVEN a dead-letter queue and the function, without or with the KMS key
    conditions = {"UseKms": use_kms}
    queue = with_conditions(cfn["Resources"][queue_name]["Properties"], conditions)
    function = cfn["Resources"]["ThumbnailFunction"]["Properties"]

    # WHEN the queue's encryption and the function's dead-letter target are read
    encryption = {
        key: value
        for key, value in queue.items()
        if key not in ("MessageRetentionPeriod", "FifoQueue")
    }

    # THEN the queue is encrypted with SSE-SQS, or with the key, and keeps messages 14 days
    expected = (
        {"KmsMasterKeyId": {"Ref": "KmsKeyArn"}} if use_kms else {"SqsManagedSseEnabled": True}
    )
    assert encryption == expected
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    # AND the function's own records go to a FIFO queue (one record for one bad upload, however
    # often it is reported); Lambda's failed events to a standard one
    assert queue.get("FifoQueue", False) is (queue_name == "DeadLetterQueue")
    # AND Lambda sends events whose retries are exhausted to the failed-event queue
    assert function["DeadLetterConfig"] == {
        "TargetArn": {"Fn::GetAtt": ["FailedEventQueue", "Arn"]}
    }


def test_async_retries_and_event_age_come_from_the_parameters(source: Template) -> None:
    # GIVEN non-default retry settings
    parameters = {"AsyncRetryAttempts": 0, "AsyncMaxEventAgeSeconds": 300}

    # WHEN the template is transformed with them, as CloudFormation does on deploy
    transformed = sam_transform(source, parameters)

    # THEN the function's asynchronous invoke configuration uses them
    (config,) = resources_of_type(transformed, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["MaximumRetryAttempts"] == 0
    assert config["Properties"]["MaximumEventAgeInSeconds"] == 300


def test_recursion_protection_stays_on_and_concurrency_can_be_reserved(cfn: Template) -> None:
    # GIVEN the Lambda function CloudFormation creates
    function = cfn["Resources"]["ThumbnailFunction"]["Properties"]

    # WHEN its recursion and concurrency settings are read
    reserved = function["ReservedConcurrentExecutions"]

    # THEN S3 -> Lambda -> S3 loops are stopped, and a reservation is made only when asked for
    assert function["RecursiveLoop"] == "Terminate"
    assert with_conditions(reserved, {"HasReservedConcurrency": True}) == {
        "Ref": "ReservedConcurrency"
    }
    assert "ReservedConcurrentExecutions" not in with_conditions(
        function, {"HasReservedConcurrency": False}
    )
    # AND by default the function is capped (the README's guard against runaway bills), low
    # enough to leave an account with the usual 1,000 most of its pool
    default = int(cfn["Parameters"]["ReservedConcurrency"]["Default"])
    assert 0 < default <= 100
    assert int(cfn["Parameters"]["LambdaProvisionedConcurrency"]["Default"]) <= default


def test_alarms_watch_the_dlq_errors_throttles_and_duration_and_notify_the_topic(
    cfn: Template,
) -> None:
    # GIVEN the alarms
    alarms = resources_of_type(cfn, "AWS::CloudWatch::Alarm")

    # WHEN their metrics and actions are read
    def metric_of(properties: dict[str, Any]) -> tuple[str, str]:
        if "Metrics" in properties:
            (stat,) = [m["MetricStat"] for m in properties["Metrics"] if "MetricStat" in m]
            return stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]
        return properties["Namespace"], properties["MetricName"]

    watched = {name: metric_of(alarm["Properties"]) for name, alarm in alarms.items()}

    # THEN the alarms exist, each notifies the topic on alarm and on recovery
    assert watched == ALARM_METRICS
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert properties["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert properties["TreatMissingData"] == "notBreaching"
    # AND the duration alarm fires at 80% of the configured timeout
    duration = alarms["FunctionDurationAlarm"]["Properties"]
    (expression,) = [m["Expression"] for m in duration["Metrics"] if "Expression" in m]
    assert expression == {"Fn::Sub": "100 * duration / (${LambdaTimeout} * 1000)"}
    assert (duration["Threshold"], duration["ComparisonOperator"]) == (
        80,
        "GreaterThanOrEqualToThreshold",
    )


def test_alarm_email_is_an_optional_subscription(cfn: Template) -> None:
    # GIVEN the alarm topic's subscriptions (the notification topic has its own)
    subscriptions = resources_of_type(cfn, "AWS::SNS::Subscription")

    # WHEN the e-mail one is read
    (subscription,) = [
        s for s in subscriptions.values() if s["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    ]

    # THEN it exists only when AlarmEmail is set, and subscribes that address to the topic
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def _dashboard_metrics(source: Template) -> tuple[list[list[Any]], list[str]]:
    """The dashboard's metric rows and its search expressions (the ${...} left as they are)."""
    body, _variables = source["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    rows = [row for widget in widgets for row in widget["properties"]["metrics"]]
    plain = [[item for item in row if not isinstance(item, dict)] for row in rows]
    expressions = [item["expression"] for row in rows for item in row if "expression" in item]
    return [row for row in plain if row], expressions


def test_dashboard_charts_the_metrics_the_function_really_emits(
    source: Template, stack, lambda_context, captured_output
) -> None:
    # GIVEN the EMF blobs the handler prints for one good and one bad upload
    records = [
        stack.upload("uploads/ok.jpg", encode(photo(640, 480), "JPEG")),
        stack.upload("uploads/bad.jpg", b"not an image"),
    ]
    app.lambda_handler(event_of(*records), lambda_context)
    _, blobs = captured_output()
    emitted = {
        (directive["Namespace"], metric["Name"], tuple(sorted(dimensions)))
        for blob in blobs
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
        for dimensions in directive["Dimensions"]
    }
    service = {blob["service"] for blob in blobs}

    # WHEN the dashboard's own-namespace rows and searches are read (its ${Namespace} is the
    # function's, which the tests set to the stack-less name)
    rows, expressions = _dashboard_metrics(source)
    _body, variables = source["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert (
        variables["Namespace"]
        == source["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    )
    # (one namespace per stack: staging and production in one account and region never mix)
    assert "${AWS::StackName}" in variables["Namespace"]["Fn::Sub"]
    namespace = os.environ["POWERTOOLS_METRICS_NAMESPACE"]
    rows = [[namespace if item == "${Namespace}" else item for item in row] for row in rows]
    expressions = [e.replace("${Namespace}", namespace) for e in expressions]
    charted = {(row[0], row[1], tuple(sorted(row[2::2]))) for row in rows if row[0] == namespace}
    charted_services = {row[3] for row in rows if row[0] == namespace}

    # THEN each charted metric exists with exactly those dimensions and that service
    assert charted, "the dashboard charts none of the function's own metrics"
    assert charted <= emitted
    assert charted_services == service == {"thumbnailer"}
    assert {name for _, name, _ in charted} == {
        "ObjectsReceived",
        "ThumbnailsWritten",
        "ProcessingTime",
        "BytesIn",
        "BytesOut",
    }
    # AND failures are charted by reason through a search on the dimensions Failures carries
    (failures_dimensions,) = {dims for ns, name, dims in emitted if name == "Failures"}
    searches = {
        re.search(r'MetricName=\\?"(\w+)\\?"', e)[1]: e
        for e in expressions
        if e.startswith("SEARCH(")
    }
    search = searches["Failures"]
    assert f"{{{namespace},{','.join(failures_dimensions)}}}" in search
    assert 'MetricName="Failures"' in search
    assert 'service="thumbnailer"' in search
    # AND bytes out by format likewise, on the dimensions BytesOutByFormat carries
    (format_dimensions,) = {dims for ns, name, dims in emitted if name == "BytesOutByFormat"}
    assert f"{{{namespace},{','.join(format_dimensions)}}}" in searches["BytesOutByFormat"]


def test_outputs_give_buckets_queue_topic_and_dashboard_url(source: Template) -> None:
    # GIVEN the stack outputs
    outputs = source["Outputs"]

    # WHEN the dashboard URL is read
    url = outputs["DashboardUrl"]["Value"]["Fn::Sub"]

    # THEN everything an operator needs is there, and the URL opens this stack's dashboard
    assert {
        "InputBucketName",
        "OutputBucketName",
        "DeadLetterQueueUrl",
        "AlarmTopicArn",
        "DashboardUrl",
    } <= set(outputs)
    assert re.fullmatch(
        r"https://\$\{AWS::Region\}\.console\.aws\.amazon\.com/cloudwatch/home"
        r"\?region=\$\{AWS::Region\}#dashboards:name=\$\{Dashboard\}",
        url,
    )


def test_bad_objects_alarm_on_a_rate_of_the_metric_the_function_emits_world_failures_at_once(
    source: Template, stack, lambda_context, captured_output
) -> None:
    # GIVEN the EMF blobs the handler prints for two bad uploads
    records = [stack.upload(f"uploads/junk{n}.jpg", b"not an image") for n in range(2)]
    app.lambda_handler(event_of(*records), lambda_context)
    _, blobs = captured_output()
    resources = source["Resources"]
    bad_objects = resources["BadObjectsAlarm"]["Properties"]
    failed_events = resources["FailedEventsAlarm"]["Properties"]

    # WHEN the metric the bad-object alarm watches is looked up among them
    emitted = [
        blob[bad_objects["MetricName"]]
        for blob in blobs
        for directive in blob["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
        if metric["Name"] == bad_objects["MetricName"]
        and {(d["Name"], blob[d["Name"]]) for d in bad_objects["Dimensions"]}
        == {(name, blob[name]) for dimensions in directive["Dimensions"] for name in dimensions}
    ]

    # THEN the function emits it with exactly the alarm's dimensions, one per bad object
    assert sum(v if isinstance(v, int | float) else sum(v) for v in emitted) == 2
    # AND the alarm fires only above a rate (the parameter), over an hour
    assert (bad_objects["Threshold"], bad_objects["Period"]) == (
        {"Ref": "BadObjectAlarmThreshold"},
        3600,
    )
    assert int(source["Parameters"]["BadObjectAlarmThreshold"]["Default"]) > 0
    # AND events the world failed alarm at once: any message in the failed-event queue
    assert failed_events["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedEventQueue", "QueueName"]}}
    ]
    assert (failed_events["Threshold"], failed_events["ComparisonOperator"]) == (
        0,
        "GreaterThanThreshold",
    )

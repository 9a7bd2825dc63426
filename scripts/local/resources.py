"""The stack's resources, created in the local stand-in as iac/template.yaml describes them.

`LocalStack` reads the template's parameter defaults and its Globals' environment, then creates
the input and output buckets, the DLQ and the failed-event queue, and the input bucket's
notification (ObjectCreated, plus
ObjectRemoved with SyncDeletes; same prefix filter), delivered to an SQS queue that stands in
for Lambda's event source; with IngestMode=queue, to the stack's real ingest queue (redrive
policy included). `function_env` is the environment the function gets there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.local import execution_role
from scripts.local.server import REGION, REPO, LocalAws

TEMPLATE = REPO / "iac" / "template.yaml"
LOCAL_STACK_NAME = "local"


def template_defaults(template: Path = TEMPLATE) -> dict[str, Any]:
    """The template's parameter defaults and its Globals' environment, as the stack would get."""
    from cfnlint.decode.cfn_yaml import load  # dev dependency; understands !Ref and friends

    document = load(str(template))
    # Plain str/int copies: the loader's node types carry line numbers and do not pickle.
    parameters = {
        str(name): _plain(spec.get("Default"))
        for name, spec in document.get("Parameters", {}).items()
    }
    globals_env = (
        document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    return {
        "parameters": parameters,
        "globals_env": {str(name): _local_value(value) for name, value in globals_env.items()},
    }


def _local_value(value: Any) -> str:
    """A Globals value as the local stack gets it: `!Sub` of the stack's name resolved."""
    if isinstance(value, dict) and list(value) == ["Fn::Sub"]:
        return str(value["Fn::Sub"]).replace("${AWS::StackName}", LOCAL_STACK_NAME)
    return str(value)


def _plain(value: Any) -> Any:
    return value if value is None else type(value).__mro__[-2](value)


@dataclass
class LocalStack:
    """The stack's resources, created in the stand-in as iac/template.yaml describes them."""

    aws: LocalAws
    input_bucket: str = "sip-local-input"
    output_bucket: str = "sip-local-output"
    dlq_name: str = "sip-local-dlq.fifo"
    failed_event_queue_name: str = "sip-local-failed-events"
    events_queue_name: str = "sip-local-s3-events"
    ingest_queue_name: str = "sip-local-ingest"
    overrides: dict[str, str] = field(default_factory=dict)
    #: Template parameters other than their defaults, e.g. {"IngestMode": "queue"}.
    parameters: dict[str, str] = field(default_factory=dict)
    dlq_url: str = ""
    failed_event_queue_url: str = ""
    events_queue_url: str = ""
    ingest_queue_url: str = ""
    function_env: dict[str, str] = field(default_factory=dict)
    #: Every template parameter, as the stack got it (defaults, then `parameters`).
    effective_parameters: dict[str, Any] = field(default_factory=dict)
    #: The function's role's credentials, once `enforce_role` made it.
    function_credentials: dict[str, str] = field(default_factory=dict)
    #: An operator's (iac/operator-policy.yaml), for redrive and backfill; also from then on.
    operator_credentials: dict[str, str] = field(default_factory=dict)

    @property
    def queued(self) -> bool:
        return self.parameters.get("IngestMode") == "queue"

    @property
    def sync_deletes(self) -> bool:
        """SyncDeletes as the stack got it: given, or the template's default (on)."""
        given = {**self.effective_parameters, **self.parameters}
        return str(given.get("SyncDeletes")) == "true"

    def create(self) -> LocalStack:
        defaults = template_defaults()
        parameters = {**defaults["parameters"], **self.parameters}
        self.effective_parameters = parameters
        s3, sqs = self.aws.client("s3"), self.aws.client("sqs")
        s3.create_bucket(Bucket=self.input_bucket)
        s3.create_bucket(Bucket=self.output_bucket)
        # FIFO, as the template's: SQS drops a report sent twice (docs/behaviour.md).
        fifo = {"FifoQueue": "true"} if self.dlq_name.endswith(".fifo") else {}
        self.dlq_url = sqs.create_queue(QueueName=self.dlq_name, Attributes=fifo)["QueueUrl"]
        self.failed_event_queue_url = sqs.create_queue(QueueName=self.failed_event_queue_name)[
            "QueueUrl"
        ]
        if self.queued:
            # The template's IngestQueue: S3 notifies it, and SQS itself moves a message that
            # was received IngestMaxReceiveCount times without being deleted to the
            # failed-event queue.
            redrive = {
                "deadLetterTargetArn": arn_of_queue(sqs, self.failed_event_queue_url),
                "maxReceiveCount": str(parameters["IngestMaxReceiveCount"]),
            }
            self.ingest_queue_url = sqs.create_queue(
                QueueName=self.ingest_queue_name,
                Attributes={
                    "VisibilityTimeout": str(parameters["IngestVisibilityTimeout"]),
                    "MessageRetentionPeriod": "604800",  # as the template's IngestQueue
                    "RedrivePolicy": json.dumps(redrive),
                },
            )["QueueUrl"]
            events_queue_arn = arn_of_queue(sqs, self.ingest_queue_url)
        else:
            self.events_queue_url = sqs.create_queue(
                QueueName=self.events_queue_name, Attributes={"VisibilityTimeout": "900"}
            )["QueueUrl"]
            events_queue_arn = arn_of_queue(sqs, self.events_queue_url)
        self.function_env = {
            **defaults["globals_env"],
            "OUTPUT_BUCKET": self.output_bucket,
            "DLQ_URL": self.dlq_url,
            "THUMB_SIZES": str(parameters["ThumbnailSizes"]),
            "WEBP_QUALITY": str(parameters["WebPQuality"]),
            "INPUT_PREFIX": str(parameters["InputPrefix"]),
            "MAX_INPUT_PIXELS": str(parameters["MaxInputPixels"]),
            "MAX_ANIMATION_FRAMES": str(parameters["MaxAnimationFrames"]),
            "CACHE_CONTROL": str(parameters["ThumbnailCacheControl"]),
            "OUTPUT_FORMATS": str(parameters["OutputFormats"]),
            "AVIF_QUALITY": str(parameters["AvifQuality"]),
            "CROP_SIZES": str(parameters["CropSizes"]),
            "WRITE_MANIFEST": str(parameters["WriteManifest"]),
            "AUTO_QUALITY": str(parameters["AutoQuality"]),
            "QUALITY_TARGET": str(parameters["QualityTarget"]),
            "TRACING": str(parameters["Tracing"]),
            # As the template sets it without notifications: declared, and empty.
            "NOTIFICATION_TOPIC_ARN": "",
            **self.overrides,
        }
        # The template's NotificationConfiguration on the input bucket: ObjectCreated, and
        # ObjectRemoved when SyncDeletes is on, prefix filter, to the same target. S3 answers
        # this with an s3:TestEvent, as it does in AWS.
        events = ["s3:ObjectCreated:*"] + (["s3:ObjectRemoved:*"] if self.sync_deletes else [])
        s3.put_bucket_notification_configuration(
            Bucket=self.input_bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "Id": "ThumbnailFunctionUpload",
                        "QueueArn": events_queue_arn,
                        "Events": events,
                        "Filter": {
                            "Key": {
                                "FilterRules": [
                                    {"Name": "prefix", "Value": self.function_env["INPUT_PREFIX"]}
                                ]
                            }
                        },
                    }
                ]
            },
        )
        return self

    def enforce_role(self) -> None:
        """The function runs under its role from now on, as in AWS: a role holding exactly the
        template's statements for these parameters, with moto enforcing IAM for everyone. The
        operators' tools get a role holding iac/operator-policy.yaml's policy."""
        sqs_arn = f"arn:aws:sqs:{REGION}:{execution_role.ACCOUNT_ID}"
        resources = {
            "OutputBucket": self.output_bucket,
            "OutputBucket.Arn": f"arn:aws:s3:::{self.output_bucket}",
            "DeadLetterQueue": self.dlq_url,
            "DeadLetterQueue.Arn": f"{sqs_arn}:{self.dlq_name}",
            "FailedEventQueue": self.failed_event_queue_url,
            "FailedEventQueue.Arn": f"{sqs_arn}:{self.failed_event_queue_name}",
            "IngestQueue.Arn": f"{sqs_arn}:{self.ingest_queue_name}",
            "NotificationTopic": self.function_env.get("NOTIFICATION_TOPIC_ARN", ""),
        }
        policies = execution_role.function_role_policies(
            {**self.parameters, "InputBucketName": self.input_bucket}, resources
        )
        iam, sts = self.aws.client("iam"), self.aws.client("sts")
        self.function_credentials = execution_role.assume_role(
            iam, sts, execution_role.FUNCTION_ROLE, policies
        )
        operator = execution_role.operator_policies(
            {
                "ThumbnailFunctionName": "sip-local-ThumbnailFunction",
                "InputBucketName": self.input_bucket,
                "InputPrefix": self.function_env["INPUT_PREFIX"],
                "OutputBucketName": self.output_bucket,
                "DeadLetterQueueUrl": self.dlq_url,
                "FailedEventQueueUrl": self.failed_event_queue_url,
                "SyncDeletes": "true" if self.sync_deletes else "false",
            }
        )
        self.operator_credentials = execution_role.assume_role(iam, sts, "Operator", operator)
        self.aws.enforce_iam()


def arn_of_queue(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])

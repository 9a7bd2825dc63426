"""The operations scripts read a deployed stack (moto's CloudFormation and Lambda)."""

import argparse
import io
import json
import zipfile

import boto3
from moto import mock_aws

from scripts.ops.common import resolve_deployment

FUNCTION_ENV = {
    "OUTPUT_BUCKET": "thumbs-from-stack",
    "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq-from-stack",
    "THUMB_SIZES": "64,256",
    "WEBP_QUALITY": "70",
    "INPUT_PREFIX": "incoming/",
}


def deploy_stand_in(name: str) -> None:
    """A stack with the real template's output names, and a function with an environment."""
    role = boto3.client("iam").create_role(
        RoleName="fn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
    boto3.client("lambda").create_function(
        FunctionName="sip-thumbnails",
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": FUNCTION_ENV},
    )
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {
            "InputBucketName": {"Value": "uploads-from-stack"},
            "ThumbnailFunctionName": {"Value": "sip-thumbnails"},
        },
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_the_stack_gives_the_input_bucket_and_the_functions_own_settings():
    with mock_aws():
        # GIVEN a deployed stack
        deploy_stand_in("serverless-image-pipeline")
        # WHEN a script resolves its configuration from it, with a queue given on the command line
        deployment = resolve_deployment(
            argparse.Namespace(stack_name="serverless-image-pipeline"),
            {"DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/other", "X": None},
        )
    # THEN the settings are the function's, the bucket the stack's, and the override wins
    settings = deployment.settings
    assert deployment.input_bucket == "uploads-from-stack"
    assert (settings.output_bucket, settings.thumb_widths, settings.webp_quality) == (
        "thumbs-from-stack",
        (64, 256),
        70,
    )
    assert settings.input_prefix == "incoming/"
    assert settings.dlq_url.endswith("/other")

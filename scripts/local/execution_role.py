"""The function's execution role, from the template, enforced by moto.

    function_role_policies  the role's inline policies as SAM synthesizes them for a deployment
                            shape, every Ref/GetAtt/Sub resolved to the local resources' names
    operator_policies       the same for iac/operator-policy.yaml (redrive, backfill)
    assume_role             create a role holding exactly those policies in moto; its credentials
    model_aws_authorization make moto's IAM enforcement closer to AWS's (see below); every
                            denial is recorded in DENIALS and, in the server, printed to stderr
    enforce                 switch enforcement on in this process (moto's decorator mode)

moto checks an identity policy's actions and resources for S3, SQS, SNS, STS, IAM, KMS and
CloudFormation, among others, once `INITIAL_NO_AUTH_ACTION_COUNT` requests have been served. It
ignores conditions (a statement with one is a deny unless the request carries the key), resource
policies (bucket, queue, topic, KMS key policies), and it does not sign-check Lambda requests
made with session credentials (SignatureDoesNotMatch) or serve S3 Control on its own host. Where
AWS and moto differ in a way the function's role depends on, `model_aws_authorization` makes
moto answer as AWS does:

- a missing key answers 403 AccessDenied instead of 404 when the caller may not s3:ListBucket
  the bucket (AWS does not tell a caller who may not list whether a key exists);
- SNS requests are authorised against the topic's ARN (moto: against "*");
- batch APIs are authorised as their IAM action (sqs:DeleteMessageBatch is sqs:DeleteMessage,
  s3:HeadBucket is s3:ListBucket...);
- a denial names the action and the resource, as AWS's own message does.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from scripts.local import template_model

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
FUNCTION_ROLE = "ThumbnailFunctionRole"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
#: API operations IAM authorises under another action's name (the Service Authorization
#: Reference's "Actions" table); moto authorises each under its own name.
IAM_ACTION_OF = {
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl": "sqs:GetQueueUrl",
    "s3:HeadBucket": "s3:ListBucket",
    "sns:PublishBatch": "sns:Publish",
}


@dataclass(frozen=True)
class Denial:
    principal: str
    action: str
    resource: str

    def __str__(self) -> str:
        return f"AccessDenied: {self.principal} may not {self.action} on {self.resource}"


#: Every denial moto answered in this process since the list was last cleared.
DENIALS: list[Denial] = []


@dataclass(frozen=True)
class Statement:
    """One statement of the role, by policy and position: what a necessity test removes."""

    policy: str
    index: int
    body: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.policy}/{self.body.get('Sid', self.index)}"

    @property
    def actions(self) -> list[str]:
        actions = self.body["Action"]
        return actions if isinstance(actions, list) else [actions]


def function_role_policies(
    parameters: dict[str, str], resources: dict[str, str]
) -> list[dict[str, Any]]:
    """The function role's inline policies for this shape, as IAM would hold them.

    `parameters`: the template's, other than defaults. `resources`: what a Ref or Fn::GetAtt to
    the stack's resources gives locally, e.g. {"OutputBucket": "thumbs-out", "OutputBucket.Arn":
    "arn:aws:s3:::thumbs-out", "DeadLetterQueue.Arn": ...}. The input bucket's name is a
    parameter here (InputBucketName), as the role spells it out instead of referring to it.
    """
    # SAM's transform asks boto3 for a region; a local run may have none configured.
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    template = template_model.load()
    resolved = template_model.resolve(template, parameters)
    role = template_model.sam_transform(resolved)["Resources"][FUNCTION_ROLE]["Properties"]
    values = _values(template, parameters, resources)
    return list(template_model.substitute(role["Policies"], values))


def function_environment(parameters: dict[str, str], resources: dict[str, str]) -> dict[str, str]:
    """The function's environment variables for this shape, resolved as `function_role_policies`
    resolves its role (Globals' Powertools variables left out)."""
    template = template_model.load()
    resolved = template_model.resolve(template, parameters)
    variables = resolved["Resources"][FUNCTION_ROLE.removesuffix("Role")]["Properties"]
    values = _values(template, parameters, resources)
    return template_model.substitute(variables["Environment"]["Variables"], values)


def operator_policies(
    parameters: dict[str, str], resources: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """iac/operator-policy.yaml's managed policy for these parameters, resolved like the
    function's (`resources`: "BatchOperationsRole.Arn" when InventoryBucketName is set)."""
    template = template_model.load(template_model.OPERATOR_TEMPLATE)
    resolved = template_model.resolve(template, parameters)
    document = resolved["Resources"]["OperatorPolicy"]["Properties"]["PolicyDocument"]
    values = _values(template, parameters, resources or {})
    return [
        {
            "PolicyName": "OperatorPolicy",
            "PolicyDocument": template_model.substitute(document, values),
        }
    ]


def _values(
    template: dict[str, Any], parameters: dict[str, str], resources: dict[str, str]
) -> dict[str, str]:
    """What Ref and Fn::GetAtt resolve to: parameters, pseudo parameters, local resources."""
    return {
        **template_model.parameter_values(template, parameters),
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Region": REGION,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "sip-local",
        "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/sip-local/"
        "11111111-2222-3333-4444-555555555555",
        **resources,
    }


def statements_of(policies: list[dict[str, Any]]) -> list[Statement]:
    return [
        Statement(policy["PolicyName"], index, statement)
        for policy in policies
        for index, statement in enumerate(policy["PolicyDocument"]["Statement"])
    ]


def without(
    policies: list[dict[str, Any]], statement: Statement, action: str | None = None
) -> list[dict[str, Any]]:
    """`policies` less one statement (or, with `action`, less that one action of it)."""
    result = copy.deepcopy(policies)
    for policy in result:
        if policy["PolicyName"] != statement.policy:
            continue
        kept = policy["PolicyDocument"]["Statement"]
        if action is None or statement.actions == [action]:
            del kept[statement.index]
        else:
            kept[statement.index]["Action"] = [a for a in statement.actions if a != action]
    return [policy for policy in result if policy["PolicyDocument"]["Statement"]]


def assume_role(
    iam: Any, sts: Any, role_name: str, policies: list[dict[str, Any]]
) -> dict[str, str]:
    """A role holding exactly `policies` (replacing any it held); credentials for a session."""
    try:
        iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    except iam.exceptions.EntityAlreadyExistsException:
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role_name, PolicyName=name)
    for policy in policies:
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(policy["PolicyDocument"]),
        )
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}"
    credentials = sts.assume_role(RoleArn=arn, RoleSessionName=role_name)["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


@contextmanager
def enforce() -> Iterator[None]:
    """moto enforces identity policies inside (in this process: decorator mode)."""
    from moto.core.authorization import enable_iam_authentication

    model_aws_authorization()
    with enable_iam_authentication():
        yield


_installed = False


def model_aws_authorization(*, print_denials: bool = False) -> None:
    """Patch moto's IAM enforcement as the module docstring says; idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    from moto.iam import access_control
    from moto.sns.responses import SNSResponse

    base = access_control.IAMRequestBase
    check = base.check_action_permitted

    def check_action_permitted(self: Any, resource: str) -> None:
        self._action = IAM_ACTION_OF.get(self._action, self._action)
        self._denied_resource = resource
        try:
            check(self, resource)
            if self._action in ("s3:GetObject", "s3:GetObjectVersion"):
                _missing_key_needs_list_bucket(self, resource, check)
        except Exception:
            denial = Denial(self._access_key.arn, self._action, self._denied_resource)
            DENIALS.append(denial)
            if print_denials:
                print(denial, file=sys.stderr, flush=True)
            raise

    def denied_with_details(self: Any) -> None:
        from moto.core.exceptions import AccessDeniedError
        from moto.s3.exceptions import S3ClientError

        action, resource = self._action, self._denied_resource
        detail = f"{action} on resource: {resource} because no identity-based policy allows it"
        if isinstance(self, access_control.S3IAMRequest):
            user = self._access_key.arn
            raise S3ClientError(
                "AccessDenied", f"User: {user} is not authorized to perform: {detail}"
            )
        raise AccessDeniedError(user_arn=self._access_key.arn, action=detail)

    base.check_action_permitted = check_action_permitted
    access_control.IAMRequest._raise_access_denied = denied_with_details
    access_control.S3IAMRequest._raise_access_denied = denied_with_details
    SNSResponse._determine_resource = lambda self: self._get_param("TopicArn") or "*"


def _missing_key_needs_list_bucket(request: Any, resource: str, check: Any) -> None:
    """AWS answers 403 for a key that does not exist unless the caller may list the bucket."""
    from moto.s3.models import FakeKey, s3_backends

    bucket_name, _, key_name = resource.removeprefix("arn:aws:s3:::").partition("/")
    bucket = s3_backends[request.account_id]["aws"].buckets.get(bucket_name)
    if bucket is None or isinstance(bucket.keys.get(key_name), FakeKey):
        return
    request._action, request._denied_resource = "s3:ListBucket", f"arn:aws:s3:::{bucket_name}"
    check(request, request._denied_resource)

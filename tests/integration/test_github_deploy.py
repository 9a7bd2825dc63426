"""The GitHub deploy path: the OIDC role stack and the workflows that use it."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint

from tests.integration.templates import (
    OIDC_ROLE_TEMPLATE,
    REPO_ROOT,
    Template,
    load,
    resources_of_type,
)

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
GITHUB_TOKEN_ISSUER = "token.actions.githubusercontent.com"
# A pinned action: owner/name[/path]@<40 hex> # vX.Y.Z
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def role_template() -> Template:
    return load(OIDC_ROLE_TEMPLATE)


def _trust(role_template: Template) -> dict[str, Any]:
    (statement,) = role_template["Resources"]["DeployRole"]["Properties"][
        "AssumeRolePolicyDocument"
    ]["Statement"]
    return statement


def _allowed_subject(role_template: Template, repository: str, environment: str) -> str:
    """The `sub` pattern of the trust policy once the stack's parameters are filled in."""
    pattern = _trust(role_template)["Condition"]["StringLike"][f"{GITHUB_TOKEN_ISSUER}:sub"]
    values = {"GitHubRepository": repository, "GitHubEnvironment": environment}
    return re.sub(r"\$\{(\w+)\}", lambda match: values[match[1]], pattern["Fn::Sub"])


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _workflow(name: str) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); the tests use the key as it is read.
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


@pytest.mark.slow
def test_oidc_role_template_is_cfn_lint_clean() -> None:
    # GIVEN the role template
    text = OIDC_ROLE_TEMPLATE.read_text(encoding="utf-8")

    # WHEN cfn-lint checks it with every rule level and the serverless rules
    matches = lint(
        text,
        config=ManualArgs(
            regions=["us-east-1"], include_checks=["I"], append_rules=["cfn_lint_serverless.rules"]
        ),
    )

    # THEN there is not a single finding
    assert [str(match) for match in matches] == []


def test_only_the_one_repository_in_the_one_environment_can_assume_the_deploy_role(
    role_template: Template,
) -> None:
    # GIVEN the trust policy, filled in for acme/pipeline and its production environment
    trust = _trust(role_template)
    allowed = _allowed_subject(role_template, "acme/pipeline", "production")

    # WHEN GitHub tokens of various origins are matched against it (StringLike)
    def accepts(subject: str) -> bool:
        return fnmatch.fnmatchcase(subject, allowed)

    # THEN only the repository's jobs in that environment, asking for STS, get in
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"] == {f"{GITHUB_TOKEN_ISSUER}:aud": "sts.amazonaws.com"}
    assert accepts("repo:acme/pipeline:environment:production")
    assert not accepts("repo:acme/pipeline:environment:staging")
    assert not accepts("repo:acme/pipeline:ref:refs/heads/main")
    assert not accepts("repo:acme/pipeline:pull_request")
    assert not accepts("repo:acme/pipeline-fork:environment:production")
    assert not accepts("repo:evil/pipeline:environment:production")


def test_trust_uses_the_github_provider_created_or_already_there(role_template: Template) -> None:
    # GIVEN the provider resource and the trust policy's principal
    provider = role_template["Resources"]["GitHubOidcProvider"]
    federated = _trust(role_template)["Principal"]["Federated"]

    # WHEN the provider's condition is read
    condition = provider["Condition"]

    # THEN the provider is created only when asked for; otherwise the account's existing one is
    # trusted, by its fixed ARN
    assert role_template["Conditions"][condition] == {
        "Fn::Equals": [{"Ref": "CreateOidcProvider"}, "true"]
    }
    assert provider["Properties"]["Url"] == f"https://{GITHUB_TOKEN_ISSUER}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    assert federated == {
        "Fn::If": [
            condition,
            {"Ref": "GitHubOidcProvider"},
            {
                "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/"
                + GITHUB_TOKEN_ISSUER
            },
        ]
    }


def test_role_policies_name_every_resource_and_every_action(role_template: Template) -> None:
    # GIVEN every statement of both roles' policies
    roles = resources_of_type(role_template, "AWS::IAM::Role")
    statements = [
        statement
        for role in roles.values()
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]

    # WHEN their actions and resources are read, apart from the event source mapping's (its
    # id is generated, and creating one names no resource: only the function can scope it)
    actions = [
        a
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    by_function = [s for s in statements if "lambda:FunctionArn" in json.dumps(s)]
    resources = [json.dumps(s["Resource"]) for s in statements if s not in by_function]

    # THEN no action is a wildcard and no resource is "*"; wildcards only end a named prefix
    assert set(roles) == {"DeployRole", "CloudFormationExecutionRole"}
    assert all(statement["Effect"] == "Allow" for statement in statements)
    assert all("*" not in action for action in actions)
    assert '"*"' not in resources
    for resource in resources:
        for arn in re.findall(r"arn:[^\"]*", resource):
            assert not arn.endswith(":*") or ":event-source-mapping:" in arn, arn
    # AND the event source mapping statements are limited to the pipeline's function
    assert {a for s in by_function for a in _actions(s)} == {
        "lambda:CreateEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
    }
    for statement in by_function:
        function_arn = statement["Condition"]["ArnLike"]["lambda:FunctionArn"]["Fn::Sub"]
        assert function_arn.endswith(":function:${StackNamePrefix}*")
    # AND the deploy role cannot touch the pipeline's resources itself: it drives CloudFormation
    deploy_actions = {
        action.split(":")[0]
        for policy in roles["DeployRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert deploy_actions == {"cloudformation", "iam", "s3"}


def test_roles_can_only_be_passed_to_the_service_that_needs_them(role_template: Template) -> None:
    # GIVEN every iam:PassRole statement
    statements = [
        statement
        for role in resources_of_type(role_template, "AWS::IAM::Role").values()
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if "iam:PassRole" in statement["Action"]
    ]

    # WHEN the services they may pass roles to are read
    services = {
        statement["Condition"]["StringEquals"]["iam:PassedToService"] for statement in statements
    }

    # THEN the deploy role passes the execution role to CloudFormation, and CloudFormation the
    # function's role to Lambda; nothing else
    assert services == {"cloudformation.amazonaws.com", "lambda.amazonaws.com"}


def test_every_action_is_pinned_to_a_commit_with_its_version_noted() -> None:
    # GIVEN every `uses:` line of every workflow
    lines = [
        line.strip()
        for path in sorted(WORKFLOWS.glob("*.yaml"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith(("uses:", "- uses:"))
    ]

    # WHEN each is split into the reference and its comment
    references = [re.match(r"^(?:- )?uses: (\S+)\s+# (v\d+\.\d+\.\d+)$", line) for line in lines]

    # THEN each names a full 40-character commit SHA and, in a comment, the release it is
    assert lines
    assert all(references), lines
    assert all(PINNED.match(match[1]) for match in references if match)


def test_workflows_get_read_only_tokens_except_the_deploy_job_oidc_token() -> None:
    # GIVEN both workflows
    ci, deploy = _workflow("ci.yaml"), _workflow("sam-deploy.yaml")

    # WHEN their permissions are read
    ci_job_permissions = [job.get("permissions") for job in ci["jobs"].values()]
    (deploy_job,) = deploy["jobs"].values()

    # THEN the default token only reads the repository; only the deploy job may ask for an
    # OIDC token
    assert ci["permissions"] == deploy["permissions"] == {"contents": "read"}
    assert ci_job_permissions == [None] * len(ci["jobs"])
    assert deploy_job["permissions"] == {"contents": "read", "id-token": "write"}


def test_deploy_workflow_runs_one_deploy_per_stack_through_the_oidc_role() -> None:
    # GIVEN the deploy workflow
    workflow = _workflow("sam-deploy.yaml")
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    script = "\n".join(step.get("run", "") for step in steps)

    # WHEN its trigger, concurrency, credentials and commands are read
    inputs = workflow[True]["workflow_dispatch"]["inputs"]
    (credentials,) = [s for s in steps if "configure-aws-credentials" in s.get("uses", "")]

    # THEN it is started by hand with the stack, region, environment and parameters
    assert set(inputs) == {"stack-name", "region", "environment", "parameter-overrides"}
    assert inputs["environment"]["type"] == "environment"
    assert job["environment"] == "${{ inputs.environment }}"
    # AND one deploy runs at a time per stack, a second one waits
    assert "${{ inputs.stack-name }}" in workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    # AND it assumes the role from the environment's AWS_DEPLOY_ROLE secret
    assert credentials["with"]["role-to-assume"] == "${{ secrets.AWS_DEPLOY_ROLE }}"
    # AND it builds, then deploys without prompts and without failing on "no changes"
    assert script.index("make build") < script.index("sam deploy")
    for flag in (
        "--no-fail-on-empty-changeset",
        "--no-confirm-changeset",
        "--capabilities CAPABILITY_IAM",
        "--resolve-s3",
        '--role-arn "$CLOUDFORMATION_ROLE"',
    ):
        assert flag in script
    # AND no input is pasted into a script: inputs reach the shell as environment variables
    assert "${{" not in script


@pytest.mark.parametrize("directory", ["/", "/lambda"])
def test_dependabot_watches_both_pip_manifests_and_the_actions(directory: str) -> None:
    # GIVEN the Dependabot configuration
    config = yaml.safe_load((REPO_ROOT / ".github" / "dependabot.yml").read_text())

    # WHEN its update entries are listed
    entries = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}

    # THEN the pip manifest in that directory and the GitHub Actions are watched
    assert ("pip", directory) in entries
    assert ("github-actions", "/") in entries
    assert Path(REPO_ROOT / directory.lstrip("/")).is_dir()

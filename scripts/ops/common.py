"""What the operations scripts (redrive, backfill) share.

They process objects with the function's own `ThumbnailService`, configured exactly as the
deployed function is: from the stack (`--stack-name`: its outputs, the function's own
environment and its memory), or from the function's environment variables set in this shell,
every one of them (settings.ENV_VARS; empty where the function's is empty), which is how local
runs work. A shell that lacks one is refused: a tool running with a default where the function
has a setting would make other sets than the function does (fewer formats, other widths) or
judge every object outside its prefix. Like the function, they announce what they make when a
notification topic is set.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import boto3

from scripts.ops.aws import stack_configuration
from thumbnailer.errors import SettingsError
from thumbnailer.observability import logger
from thumbnailer.processing import ThumbnailService
from thumbnailer.settings import ENV_VARS, Settings

LOG_DIR = Path("out/logs")
CONFIGURATION_HINT = (
    "give --stack-name NAME, or set every one of the function's environment variables "
    f"as the function has them ({', '.join(ENV_VARS)})"
)


#: Read by the operations scripts only (the function never sends there): where Lambda and the
#: ingest queue put the events they gave up on. A stack gives it as FailedEventQueueUrl.
FAILED_EVENT_QUEUE_ENV_VAR = "FAILED_EVENT_QUEUE_URL"


@dataclass(frozen=True)
class Deployment:
    settings: Settings
    input_bucket: str | None = None
    failed_event_queue_url: str | None = None


def add_deployment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-name",
        default=os.environ.get("STACK_NAME"),
        help="read the configuration from this deployed stack (default: $STACK_NAME; without "
        "it, from the function's environment variables in this shell)",
    )
    parser.add_argument(
        "--region",
        help="the stack's region (default: as the AWS CLI finds it: AWS_REGION, "
        "AWS_DEFAULT_REGION, then the profile's region in ~/.aws/config)",
    )


def resolve_deployment(
    args: argparse.Namespace, overrides: Mapping[str, str | None] | None = None
) -> Deployment:
    """The function's settings (and the input bucket, from a stack); `overrides` win."""
    given = {name: value for name, value in (overrides or {}).items() if value}
    if getattr(args, "region", None):
        # Every client is made from the default session, on first use (storage.aws_client).
        boto3.setup_default_session(region_name=args.region)
    if args.stack_name:
        outputs, function_env = stack_configuration(args.stack_name)
        return Deployment(
            Settings.from_env({**function_env, **given}),
            outputs.get("InputBucketName"),
            outputs.get("FailedEventQueueUrl"),
        )
    unset = [name for name in ENV_VARS if name not in os.environ and name not in given]
    if unset:
        raise SettingsError(
            f"the function's configuration is incomplete in this shell: {', '.join(unset)} "
            "unset (a default may not be the function's setting)"
        )
    return Deployment(
        Settings.from_env({**os.environ, **given}),
        failed_event_queue_url=os.environ.get(FAILED_EVENT_QUEUE_ENV_VAR) or None,
    )


def make_service(settings: Settings) -> ThumbnailService:
    return ThumbnailService.from_settings(settings)


@contextmanager
def function_output_to(log_path: Path) -> Iterator[TextIO]:
    """Send the function's JSON logs and EMF metrics to `log_path`; yield the real stdout.

    In Lambda they go to CloudWatch; in a terminal they would bury the script's own output.
    """
    console = sys.stdout
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handler = logger.registered_handler
    with open(log_path, "a", encoding="utf-8") as log, redirect_stdout(log):
        previous, handler.stream = handler.stream, log  # type: ignore[attr-defined]
        try:
            yield console
        finally:
            handler.stream = previous  # type: ignore[attr-defined]

"""The function with the fault hooks installed in its process: the test harness's handler for
the local twin's execution environments (`handler="tests.faults.faulty_function:lambda_handler"`).

Installed on boto3's default session before the function's code makes any client, so that every
call the function makes passes the `FaultPlan` named by FAULT_PLAN.
"""

import os
from pathlib import Path

import boto3

from tests.faults.injector import FaultPlan, Injector, quick_retries

quick_retries()
boto3.setup_default_session()
Injector(FaultPlan(Path(os.environ["FAULT_PLAN"]))).install(boto3.DEFAULT_SESSION.events)

from app import lambda_handler  # noqa: E402 - after the hooks, as the function's code root

__all__ = ["lambda_handler"]

"""A handler for the runner's tests: the real one, unless a key asks it to misbehave.

The local runner loads it in its worker processes (`handler=` of LocalPipeline), so the tests
can crash, kill or hang an execution environment the way a buggy native library would.
"""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

import app


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    keys = " ".join(record["s3"]["object"]["key"] for record in event.get("Records", []))
    if "segfault" in keys:
        ctypes.string_at(0)  # reads address 0: SIGSEGV, no Python exception
    if "exit" in keys:
        os._exit(3)  # the process ends without unwinding, as a native abort would
    if "hang" in keys:
        time.sleep(3600)
    return app.lambda_handler(event, context)

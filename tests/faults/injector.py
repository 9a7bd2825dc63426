"""Faults at the S3/SQS/SNS boundary, injected by botocore event hooks the test harness installs
in each process that talks to AWS (the function's execution environments, the tools' process).

A `FaultPlan` is a JSON file every process shares (under a lock): its rules say which call
fails how, and count what they matched, so that "the second PutObject" means the second one
anywhere, whichever execution environment makes it. Nothing of this is in production code.

    slowdown       S3's 503 SlowDown (SQS/SNS: 503 ServiceUnavailable)
    timeout        a read timeout

A failed call fails on every attempt botocore makes of it (it retries first, as it would): the
rules count calls, not attempts.
    lost_response  the call succeeds at the server, then its response is lost (a timeout)
    hang           the call never returns: Lambda kills the environment at its deadline
    hold           the call waits until the test releases the rule (orchestrated interleavings)
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

HOLD_SECONDS = 30.0  # a held call gives up waiting after this (then it fails as a timeout)
HANG_SECONDS = 120.0  # longer than any invoker timeout used with `hang`


@dataclass
class Fault:
    operation: str  # botocore's operation name: PutObject, HeadObject, SendMessage...
    kind: str  # slowdown, timeout, lost_response, hang, hold
    match: str = ""  # a substring of the request's URL (an S3 key, URL-encoded), or ""
    skip: int = 0  # matching calls let through first
    times: int = 1  # matching calls then failed, each on every attempt
    seen: int = 0  # matching calls so far
    fired: int = 0  # calls failed so far
    released: bool = False  # `hold`: the test let the held calls go on


class FaultPlan:
    """The shared file of rules. The test writes it; every hooked process reads and counts."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextmanager
    def _locked(self) -> Iterator[list[Fault]]:
        self.path.touch()
        with open(self.path, "r+", encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            text = file.read()
            faults = [Fault(**item) for item in json.loads(text or "[]")]
            yield faults
            file.seek(0)
            file.truncate()
            file.write(json.dumps([asdict(fault) for fault in faults]))

    def set(self, *faults: Fault) -> None:
        with self._locked() as current:
            current[:] = list(faults)

    def clear(self) -> None:
        self.set()

    def faults(self) -> list[Fault]:
        with self._locked() as current:
            return list(current)

    def release(self) -> None:
        with self._locked() as current:
            for fault in current:
                fault.released = True

    def claim(self, operation: str, url: str) -> tuple[int, Fault] | None:
        """The rule that fails this call, if any; counts the call against every matching rule."""
        with self._locked() as current:
            chosen = None
            for index, fault in enumerate(current):
                if fault.operation != operation or fault.match not in url:
                    continue
                fault.seen += 1
                if chosen is None and fault.seen > fault.skip and fault.fired < fault.times:
                    fault.fired += 1
                    chosen = (index, fault)
            return chosen

    def released(self, index: int) -> bool:
        with self._locked() as current:
            return index >= len(current) or current[index].released


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._data


_UNAVAILABLE = {
    "s3": (
        b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        "application/xml",
    ),
    "sqs": (
        b'{"__type": "com.amazonaws.sqs#ServiceUnavailable", "message": "Service Unavailable"}',
        "application/x-amz-json-1.0",
    ),
    "sns": (
        b"<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
        b"<Message>Service Unavailable</Message></Error></ErrorResponse>",
        "text/xml",
    ),
}


def _service_unavailable(service: str, url: str) -> AWSResponse:
    body, content_type = _UNAVAILABLE.get(service, _UNAVAILABLE["s3"])
    return AWSResponse(url, 503, {"Content-Type": content_type}, _Body(body))


class Injector:
    """The hooks of one process: before-send fails or holds a call, after-call loses a reply."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._lost: set[int] = set()  # ids of requests whose response is to be lost

    def install(self, events: Any) -> None:
        events.register("before-send", self.before_send)
        events.register("after-call", self.after_call)

    def before_send(self, request: Any, event_name: str, **_kwargs: Any) -> AWSResponse | None:
        _, service, operation = event_name.split(".", 2)
        # botocore's retries of one call share its context: a failed call fails every attempt.
        claimed = request.context.get("fault") or self.plan.claim(operation, request.url)
        if claimed is None:
            return None
        index, fault = claimed
        if fault.kind in ("slowdown", "timeout"):
            request.context["fault"] = claimed
        if fault.kind == "slowdown":
            return _service_unavailable(service, request.url)
        if fault.kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        if fault.kind == "hang":
            time.sleep(HANG_SECONDS)
        if fault.kind == "hold":
            deadline = time.monotonic() + HOLD_SECONDS
            while not self.plan.released(index):  # bounded: fails after HOLD_SECONDS
                if time.monotonic() > deadline:
                    raise ReadTimeoutError(endpoint_url=request.url)
                time.sleep(0.05)
        if fault.kind == "lost_response":
            request.context["fault_lose_response"] = True
        return None

    def after_call(self, context: dict[str, Any], **_kwargs: Any) -> None:
        if context.pop("fault_lose_response", False):
            raise ReadTimeoutError(endpoint_url="(the response was lost after the call succeeded)")


#: botocore's backoff between attempts, in the hooked processes: the same attempts, without
#: the seconds of waiting (up to 1, 2, 4 s for a throttle) that would make the suite slow.
RETRY_DELAY_SECONDS = 0.01


def quick_retries(patch: Any = None) -> None:
    """Shorten botocore's backoff (with `patch`, a pytest MonkeyPatch, undone after the test)."""
    from botocore.retries import standard

    def delay_amount(_self: Any, _context: Any) -> float:
        return RETRY_DELAY_SECONDS

    if patch is None:
        standard.ExponentialBackoff.delay_amount = delay_amount  # type: ignore[method-assign]
    else:
        patch.setattr(standard.ExponentialBackoff, "delay_amount", delay_amount)

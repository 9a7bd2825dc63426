"""Lambda's invoke over execution environments: retries, then the dead-letter queue.

`LambdaInvoker.attempt` is one synchronous invocation (what the event source mapping uses);
`LambdaInvoker.invoke` is asynchronous invocation as Lambda does it: an error, a crash or a
timeout is retried twice, then the event goes to the DLQ with the error as attributes.
An `Invocation` is one event's fate.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from scripts.local.environment import DEFAULT_HANDLER, EnvironmentLostError, ExecutionEnvironment


class InvokerClosedError(Exception):
    """The invoker was shut down while the event was in flight."""


@dataclass
class Invocation:
    """One event's fate: its handler response, or its error and whether it went to the DLQ.

    IngestMode=queue: one settled message's, with its S3 notification as `event`, its receives
    as `attempts` and its batch's response, error, duration and memory.
    """

    event: dict[str, Any]
    attempts: int
    response: dict[str, Any] | None = None
    error: str = ""
    dead_lettered: bool = False
    duration_ms: float = 0.0
    max_rss_kb: int | None = None
    finished_at: float = 0.0

    @property
    def keys(self) -> list[str]:
        return notification_keys(self.event)


def notification_keys(notification: dict[str, Any]) -> list[str]:
    """The object keys an S3 notification names, URL-decoded ([] for s3:TestEvent)."""
    return [
        unquote_plus(record["s3"]["object"]["key"])
        for record in notification.get("Records", [])
        if "s3" in record
    ]


def send_to_dead_letter_queue(sqs: Any, dlq_url: str, event_json: str, error: str) -> None:
    """What Lambda's DeadLetterConfig delivers (with the function's role): the original event,
    the error as attributes."""
    sqs.send_message(
        QueueUrl=dlq_url,
        MessageBody=event_json,
        MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": error[:1000] or "error"},
        },
    )


class LambdaInvoker:
    """Asynchronous invocation as Lambda does it: retries on error, then the dead-letter queue.

    At most `workers` events run at once, each in an execution environment of its own; idle
    environments are reused (warm starts), lost ones (crash, timeout) are replaced.
    """

    def __init__(
        self,
        env: dict[str, str],
        dlq_url: str,
        sqs: Any,
        *,
        workers: int = 2,
        max_retries: int = 2,
        timeout_seconds: float = 60.0,
        retry_delay_seconds: float = 0.2,
        log_path: Path | None = None,
        handler: str = DEFAULT_HANDLER,
    ) -> None:
        self._env, self._dlq_url, self._sqs = env, dlq_url, sqs
        self._max_retries = max_retries
        # The function's Timeout; like UpdateFunctionConfiguration, a change applies from the
        # next invocation on.
        self.timeout_seconds, self._retry_delay = timeout_seconds, retry_delay_seconds
        self._log_path = str(log_path) if log_path else None
        self._handler = handler
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._idle: list[ExecutionEnvironment] = []
        self._all: set[ExecutionEnvironment] = set()
        self._closed = threading.Event()

    def attempt(self, event_json: str) -> tuple[dict[str, Any] | None, str]:
        """One synchronous invocation (RequestResponse), no retry: (the handler's result, "")
        or (None, why it failed); `InvokerClosedError` on shutdown."""
        with self._slots:
            environment = self._checkout()
            try:
                result = environment.invoke(event_json, self.timeout_seconds)
            except EnvironmentLostError as lost:
                self._discard(environment)
                if self._closed.is_set():
                    raise InvokerClosedError from lost
                return None, str(lost)
            self._checkin(environment)
        if result["error"] is not None:
            return None, f"{result['error']['errorType']}: {result['error']['errorMessage']}"
        return result, ""

    def invoke(self, event: dict[str, Any]) -> Invocation:
        """Run the event to its end (success or the DLQ); `InvokerClosedError` on shutdown."""
        event_json = json.dumps(event)
        error = ""
        for attempt in range(1, self._max_retries + 2):
            result, error = self.attempt(event_json)
            if result is not None:
                return Invocation(
                    event,
                    attempt,
                    response=result["response"],
                    duration_ms=result["duration_ms"],
                    max_rss_kb=result["max_rss_kb"],
                    finished_at=time.time(),
                )
            if attempt <= self._max_retries and self._closed.wait(self._retry_delay * attempt):
                raise InvokerClosedError
        self._dead_letter(event_json, error)
        return Invocation(
            event, self._max_retries + 1, error=error, dead_lettered=True, finished_at=time.time()
        )

    def _checkout(self) -> ExecutionEnvironment:
        with self._lock:
            if self._closed.is_set():
                raise InvokerClosedError
            if self._idle:
                return self._idle.pop()
            environment = ExecutionEnvironment(self._env, self._log_path, self._handler)
            self._all.add(environment)
            return environment

    def _checkin(self, environment: ExecutionEnvironment) -> None:
        with self._lock:
            if not self._closed.is_set():
                self._idle.append(environment)
                return
        self._discard(environment)

    def _discard(self, environment: ExecutionEnvironment) -> None:
        with self._lock:
            self._all.discard(environment)
        environment.close()

    def _dead_letter(self, event_json: str, error: str) -> None:
        send_to_dead_letter_queue(self._sqs, self._dlq_url, event_json, error)

    def close(self) -> None:
        """Stop every environment now, busy or not; events in flight end in `InvokerClosedError`."""
        self._closed.set()
        with self._lock:
            busy, idle = self._all.difference(self._idle), self._idle[:]
            self._idle.clear()
        for environment in busy:
            # Its invoke() fails at once; the thread that invoked it reaps it (see _discard).
            environment.process.terminate()
        for environment in idle:
            self._discard(environment)

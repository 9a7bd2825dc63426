"""The local twin of the deployed stack, composed: moto over HTTP, S3's own notifications, the
real handler. `with LocalPipeline() as pipeline:` starts it all and stops it all.

It starts the stand-in (server), creates the stack's resources (resources), and runs the handler
through Lambda's invoke (invoker, environment). A dispatcher thread feeds every notification S3
sent (s3:TestEvent included) to the invoker, untouched; with IngestMode=queue, the event source
mapping's pollers do instead (event_source). `wait_for` blocks until each upload has an outcome.
Everything is shut down on exit, Ctrl-C included.
"""

from __future__ import annotations

import importlib
import json
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from signal import SIGINT, SIGTERM
from types import ModuleType
from typing import TYPE_CHECKING, Any

from scripts.local.environment import DEFAULT_HANDLER, LAMBDA_DIR
from scripts.local.event_source import BatchInvocation, EventSourceMapping
from scripts.local.invoker import Invocation, InvokerClosedError, LambdaInvoker, notification_keys
from scripts.local.resources import LocalStack
from scripts.local.server import LocalAws

if TYPE_CHECKING:
    import argparse


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Let a bounded shutdown finish even if Ctrl-C is pressed again (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (SIGINT, SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def raise_interrupt_on_sigterm() -> None:
    """`kill PID` then shuts the runner down exactly like Ctrl-C does."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def dead_letter_keys(body: dict[str, Any]) -> list[str]:
    """The source keys a DLQ message is about: the function's record, or the S3 notification
    that failed (Lambda's failed event, or the ingest queue's redriven message)."""
    if "key" in body:
        return [body["key"]]
    return notification_keys(body)


#: The template's IngestMode values: S3 invokes the function, or S3 -> ingest queue -> batches.
INGEST_MODES = ("direct", "queue")


def add_ingest_mode_option(parser: argparse.ArgumentParser) -> None:
    """The template's IngestMode, for the scripts that run the local pipeline."""
    parser.add_argument(
        "--ingest-mode",
        choices=INGEST_MODES,
        default="direct",
        help="the template's IngestMode: S3 invokes the function, or S3 -> SQS -> batches",
    )


def function_module(name: str) -> ModuleType:
    """A module of the function's own code (`thumbnailer.keys`), imported from its code root."""
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))  # the function's code root, as Lambda sees it
    return importlib.import_module(name)


def thumbnail_namer(function_env: dict[str, str]) -> Callable[[str], set[str]]:
    """Every key the function may write for an upload (renditions, manifest), by its own naming
    code: an animation has no AVIF, so a caller keeps those that exist."""
    keys = function_module("thumbnailer.keys")
    planned_keys, relative_key = keys.planned_keys, keys.relative_key
    Settings = function_module("thumbnailer.settings").Settings  # noqa: N806 - a class

    settings = Settings.from_env(function_env)

    def thumbnails(key: str) -> set[str]:
        relative = relative_key(key, settings.input_prefix)
        assert relative is not None, f"{key} is outside the input prefix"
        return set(
            planned_keys(
                relative,
                widths=settings.thumb_widths,
                formats=settings.output_formats,
                crops=settings.crop_sizes,
                manifest=settings.write_manifest,
            )
        )

    return thumbnails


class LocalPipeline:
    """Start with `with LocalPipeline() as pipeline:`; upload to `pipeline.stack.input_bucket`."""

    def __init__(
        self,
        *,
        workers: int = 2,
        log_dir: Path | None = None,
        overrides: dict[str, str] | None = None,
        max_retries: int = 2,
        parameters: dict[str, str] | None = None,
        timeout_seconds: float = 60.0,
        handler: str = DEFAULT_HANDLER,
    ) -> None:
        self._workers = workers
        self._log_dir = log_dir
        self._overrides = overrides or {}
        self._parameters = parameters or {}  # the template's, e.g. {"IngestMode": "queue"}
        self._invoker_options = {
            "max_retries": max_retries,
            "timeout_seconds": timeout_seconds,
            "handler": handler,
        }
        self._stop = threading.Event()
        self._done = threading.Condition()
        self._failure: BaseException | None = None
        self.invocations: list[Invocation] = []
        self.batches: list[BatchInvocation] = []  # IngestMode=queue
        self._dead_letters: dict[str, dict[str, Any]] = {}
        self._exit = ExitStack()

    def __enter__(self) -> LocalPipeline:
        try:
            if self._log_dir:
                self._log_dir.mkdir(parents=True, exist_ok=True)
            # Stopped in the reverse order: the dispatcher (or the poller), the function, the
            # deliveries, moto.
            self.aws = self._exit.enter_context(LocalAws(self._log("moto.log")))
            self.stack = LocalStack(
                self.aws, overrides=self._overrides, parameters=self._parameters
            ).create()
            # Lambda's own calls (the DLQ delivery, the event source mapping) and the
            # function's are the role's, as in AWS: a missing permission fails here first.
            self.stack.enforce_role()
            role = self.stack.function_credentials
            self.s3, self.sqs = self.aws.client("s3"), self.aws.client("sqs")
            if not self.stack.queued:
                self._deliveries = ThreadPoolExecutor(
                    max_workers=2 * self._workers, thread_name_prefix="delivery"
                )
                self._exit.callback(self._deliveries.shutdown, wait=True, cancel_futures=True)
            self.invoker = LambdaInvoker(
                {
                    **self.stack.function_env,
                    **self.aws.environment,
                    **role,
                    "POWERTOOLS_TRACE_DISABLED": "1",
                },
                self.stack.failed_event_queue_url,
                self.aws.client("sqs", role),
                workers=self._workers,
                log_path=self._log("function.jsonl"),
                **self._invoker_options,
            )
            self._exit.callback(self.invoker.close)
            if self.stack.queued:
                self._start_event_source_mapping()
            else:
                self._dispatcher = threading.Thread(target=self._dispatch, daemon=True)
                self._dispatcher.start()
                self._exit.callback(self._stop_dispatcher)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        with _interrupts_deferred():
            self._exit.close()

    def _log(self, name: str) -> Path | None:
        return self._log_dir / name if self._log_dir else None

    def _stop_dispatcher(self) -> None:
        self._stop.set()
        self._dispatcher.join(timeout=10)

    def _fail(self, exc: BaseException) -> None:
        """The runner itself broke (not the function): wake up whoever waits, and say why."""
        traceback.print_exception(exc, file=sys.stderr)
        with self._done:
            self._failure = self._failure or exc
            self._done.notify_all()

    def _dispatch(self) -> None:
        """S3's notifications, straight from the queue to Lambda's invoke, as they came."""
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.stack.events_queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                ).get("Messages", [])
                for message in messages:
                    self._deliveries.submit(self._deliver, message)
            except Exception as exc:  # noqa: BLE001 - reported to wait_for()
                if not self._stop.is_set():
                    self._fail(exc)
                return

    def _deliver(self, message: dict[str, Any]) -> None:
        try:
            invocation = self.invoker.invoke(json.loads(message["Body"]))
            self.sqs.delete_message(
                QueueUrl=self.stack.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        except InvokerClosedError:
            return  # shutting down: the event stays in the queue, as it would in Lambda's
        except Exception as exc:  # noqa: BLE001 - reported to wait_for()
            self._fail(exc)
            return
        with self._done:
            self.invocations.append(invocation)
            self._done.notify_all()

    def upload(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.stack.input_bucket, Key=key, Body=data)

    def wait_for(
        self, keys: Iterable[str], timeout_seconds: float = 120.0
    ) -> dict[str, Invocation]:
        """Block until every key's event has been handled (or dead-lettered); bounded in time.

        IngestMode=queue: until each key's message was deleted (processed), or failed on its
        last receive and has been redriven to the DLQ (`dead_lettered`).
        """
        wanted = set(keys)
        found: dict[str, Invocation] = {}
        seen = 0
        deadline = time.monotonic() + timeout_seconds
        with self._done:
            while True:
                for invocation in self.invocations[seen:]:
                    found.update((key, invocation) for key in invocation.keys if key in wanted)
                seen = len(self.invocations)
                if len(found) == len(wanted) and self._redriven_have_left(found.values()):
                    return found
                if self._failure is not None:
                    raise RuntimeError("the local runner failed") from self._failure
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    missing = sorted(wanted - set(found)) or "redriven messages still queued"
                    raise TimeoutError(f"no outcome after {timeout_seconds:.0f}s for: {missing}")
                self._done.wait(timeout=min(remaining, 0.5))

    def denials(self) -> list[str]:
        """Every request moto refused for want of a permission, as its server printed them
        ("AccessDenied: <who> may not <action> on <resource>"); needs a log_dir."""
        log = self._log("moto.log")
        if log is None or not log.exists():
            return []
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        return list(dict.fromkeys(line for line in lines if line.startswith("AccessDenied: ")))

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every dead letter so far, parsed: the function's own records (the DLQ) and the
        events Lambda or the ingest queue gave up on (the failed-event queue). Reading drains
        the local queues; the messages are kept here."""
        for url in (self.stack.dlq_url, self.stack.failed_event_queue_url):
            while True:  # bounded: every round deletes what it read, and SQS gives 10 at a time
                messages = self.sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=60,
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    self._dead_letters[message["MessageId"]] = json.loads(message["Body"])
                self.sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(messages)
                    ],
                )
        return list(self._dead_letters.values())

    def output_keys(self) -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=self.stack.output_bucket)
            for item in page.get("Contents", [])
        ]

    def thumbnails(self) -> Iterator[tuple[str, bytes]]:
        for key in self.output_keys():
            body = self.s3.get_object(Bucket=self.stack.output_bucket, Key=key)["Body"]
            yield key, body.read()

    # --- IngestMode=queue ----------------------------------------------------------------------

    def _start_event_source_mapping(self) -> None:
        parameters = self.stack.effective_parameters
        self.ingest = EventSourceMapping(
            self.aws.client("sqs", self.stack.function_credentials),
            self.stack.ingest_queue_url,
            self.invoker,
            batch_size=int(parameters["IngestBatchSize"]),
            batching_window_seconds=float(parameters["IngestMaximumBatchingWindow"]),
            on_batch=self._record_batch,
        )
        # As many pollers as execution environments, each with one batch at a time.
        pollers = [
            threading.Thread(target=self._poll, name=f"poller-{n}", daemon=True)
            for n in range(self._workers)
        ]
        for poller in pollers:
            poller.start()

        def stop_pollers() -> None:
            self._stop.set()
            self.invoker.close()  # a batch in flight ends now; it reappears in the queue
            for poller in pollers:
                poller.join(timeout=10)

        self._exit.callback(stop_pollers)

    def _poll(self) -> None:
        try:
            self.ingest.run(self._stop)
        except Exception as exc:  # noqa: BLE001 - reported to wait_for()
            self._fail(exc)

    def _record_batch(self, batch: BatchInvocation) -> None:
        """Keep the batch; each message that is settled counts as its notification's outcome:
        deleted (processed), or failed on its last receive (the queue redrives it to the DLQ).
        """
        max_receives = int(self.stack.effective_parameters["IngestMaxReceiveCount"])
        settled = [
            Invocation(
                message.body,
                message.receive_count,
                response=batch.response,
                error=batch.error or ("reported in batchItemFailures" if message.failed else ""),
                dead_lettered=message.failed,
                duration_ms=batch.duration_ms,
                max_rss_kb=batch.max_rss_kb,
                finished_at=batch.finished_at,
            )
            for message in batch.messages
            if not message.failed or message.receive_count >= max_receives
        ]
        with self._done:
            self.batches.append(batch)
            self.invocations.extend(settled)
            self._done.notify_all()

    def pause_ingest(self) -> None:
        """Disable the event source mapping: uploads wait in the ingest queue."""
        self.ingest.disable()

    def resume_ingest(self) -> None:
        self.ingest.enable()

    def _redriven_have_left(self, invocations: Iterable[Invocation]) -> bool:
        """IngestMode=queue: a message that failed on its last receive is in the DLQ once the
        queue has moved it there, on a later receive; until then it is still in the queue."""
        if not self.stack.queued or not any(i.dead_lettered for i in invocations):
            return True
        return self.ingest.pending() == 0

"""A local twin of the deployed stack: moto over HTTP, S3's own notifications, the real handler.

    LocalAws       moto's server in its own process, on a free 127.0.0.1 port
    LocalStack     the template's resources created there: input and output buckets, the DLQ,
                   and the input bucket's notification (ObjectCreated, plus ObjectRemoved with
                   SyncDeletes; same prefix filter), delivered to an SQS queue that stands in for
                   Lambda's event source; with IngestMode=queue, to the stack's real ingest queue
                   (redrive policy included)
    LambdaInvoker  Lambda's invoke: execution environments (one warm worker process each)
                   running the real handler; asynchronously, an error, a crash or a timeout is
                   retried twice, then the event goes to the DLQ, as Lambda does
    EventSourceMapping  IngestMode=queue: Lambda's SQS poller, batches in the shape Lambda
                   delivers them, one synchronous invoke each in those execution environments,
                   partial batch responses honoured, failed messages left to reappear (and to
                   be redriven to the DLQ by the queue itself)
    LocalPipeline  all of it, plus a dispatcher thread that feeds every notification S3 sent
                   (s3:TestEvent included) to the invoker, untouched (IngestMode=queue: the
                   event source mapping's poller instead)

No event is built by hand on this path: the handler sees exactly the JSON moto's S3 produced.
The handler runs in its own processes, one per execution environment, so a crash there (an
exit, a segfault, a hang) costs only that environment and never the stand-in or the runner.
Everything is shut down on exit, Ctrl-C included, and moto's server and the workers exit by
themselves if the runner is killed outright.
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from signal import SIGINT, SIGTERM
from typing import Any
from urllib.error import URLError
from urllib.parse import unquote_plus
from urllib.request import urlopen

import boto3

from scripts.moto_server import exit_with_parent

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "iac" / "template.yaml"
LAMBDA_DIR = REPO / "lambda"
REGION = "us-east-1"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
        "globals_env": {str(name): str(value) for name, value in globals_env.items()},
    }


def _plain(value: Any) -> Any:
    return value if value is None else type(value).__mro__[-2](value)


class LocalAws:
    """moto in server mode, in a child process of its own session, on 127.0.0.1.

    Its own session: a Ctrl-C in the terminal reaches the runner only, which then stops
    everything in order. `scripts.moto_server` makes the server exit if the runner dies.
    """

    def __init__(
        self,
        log_path: Path | None = None,
        startup_seconds: float = 30.0,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        inherit_output: bool = False,
    ) -> None:
        self.host, self.port = host, port or free_port()
        # A server bound to every interface is still reached through the loopback.
        self.endpoint = (
            f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{self.port}"  # noqa: S104
        )
        self._log_path = log_path
        self._inherit_output = inherit_output  # moto's request log on our terminal
        self._startup_seconds = startup_seconds
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LocalAws:
        with socket.socket() as probe:
            try:
                probe.bind((self.host, self.port))
            except OSError as exc:
                raise RuntimeError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        log = open(self._log_path, "ab") if self._log_path else None
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "scripts.moto_server", str(os.getpid()),
                 "-H", self.host, "-p", str(self.port)],
                cwd=REPO,
                stdout=log or (None if self._inherit_output else subprocess.DEVNULL),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            self._wait_until_ready()
        except BaseException:  # Ctrl-C during start-up included: never leave a server behind
            self.__exit__(None, None, None)
            raise
        finally:
            if log:
                log.close()  # the server has its own copy
        return self

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._startup_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"moto server exited at start-up (code {self._process.returncode})"
                )
            try:
                with urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    return
            except (URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError(f"moto server did not answer on {self.endpoint} in time")

    def __exit__(self, *exc_info: object) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)

    @property
    def environment(self) -> dict[str, str]:
        """What a boto3 process needs to talk to this stand-in instead of AWS."""
        return {**DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


@dataclass
class LocalStack:
    """The stack's resources, created in the stand-in as iac/template.yaml describes them."""

    aws: LocalAws
    input_bucket: str = "sip-local-input"
    output_bucket: str = "sip-local-output"
    dlq_name: str = "sip-local-dlq"
    events_queue_name: str = "sip-local-s3-events"
    ingest_queue_name: str = "sip-local-ingest"
    overrides: dict[str, str] = field(default_factory=dict)
    #: Template parameters other than their defaults, e.g. {"IngestMode": "queue"}.
    parameters: dict[str, str] = field(default_factory=dict)
    dlq_url: str = ""
    events_queue_url: str = ""
    ingest_queue_url: str = ""
    function_env: dict[str, str] = field(default_factory=dict)
    #: Every template parameter, as the stack got it (defaults, then `parameters`).
    effective_parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def queued(self) -> bool:
        return self.parameters.get("IngestMode") == "queue"

    @property
    def sync_deletes(self) -> bool:
        return self.parameters.get("SyncDeletes") == "true"

    def create(self) -> LocalStack:
        defaults = template_defaults()
        parameters = {**defaults["parameters"], **self.parameters}
        self.effective_parameters = parameters
        s3, sqs = self.aws.client("s3"), self.aws.client("sqs")
        s3.create_bucket(Bucket=self.input_bucket)
        s3.create_bucket(Bucket=self.output_bucket)
        self.dlq_url = sqs.create_queue(QueueName=self.dlq_name)["QueueUrl"]
        if self.queued:
            # The template's IngestQueue: S3 notifies it, and SQS itself moves a message that
            # was received IngestMaxReceiveCount times without being deleted to the DLQ.
            redrive = {
                "deadLetterTargetArn": _queue_arn(sqs, self.dlq_url),
                "maxReceiveCount": str(parameters["IngestMaxReceiveCount"]),
            }
            self.ingest_queue_url = sqs.create_queue(
                QueueName=self.ingest_queue_name,
                Attributes={
                    "VisibilityTimeout": str(parameters["IngestVisibilityTimeout"]),
                    "MessageRetentionPeriod": "1209600",
                    "RedrivePolicy": json.dumps(redrive),
                },
            )["QueueUrl"]
            events_queue_arn = _queue_arn(sqs, self.ingest_queue_url)
        else:
            self.events_queue_url = sqs.create_queue(
                QueueName=self.events_queue_name, Attributes={"VisibilityTimeout": "900"}
            )["QueueUrl"]
            events_queue_arn = _queue_arn(sqs, self.events_queue_url)
        self.function_env = {
            **defaults["globals_env"],
            "OUTPUT_BUCKET": self.output_bucket,
            "DLQ_URL": self.dlq_url,
            "THUMB_SIZES": str(parameters["ThumbnailSizes"]),
            "WEBP_QUALITY": str(parameters["WebPQuality"]),
            "INPUT_PREFIX": str(parameters["InputPrefix"]),
            "MAX_INPUT_PIXELS": str(parameters["MaxInputPixels"]),
            "MAX_ANIMATION_FRAMES": str(parameters["MaxAnimationFrames"]),
            "OUTPUT_FORMATS": str(parameters["OutputFormats"]),
            "AVIF_QUALITY": str(parameters["AvifQuality"]),
            "CROP_SIZES": str(parameters["CropSizes"]),
            "WRITE_MANIFEST": str(parameters["WriteManifest"]),
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


def _queue_arn(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


# --- Lambda's asynchronous invoke, in worker processes ----------------------------------------

DEFAULT_HANDLER = "app:lambda_handler"  # the template's `Handler: app.lambda_handler`
INIT_SECONDS = 10.0  # Lambda's limit on an execution environment's init phase


@dataclass
class _Context:
    """The parts of Lambda's context object the handler and Powertools use."""

    aws_request_id: str
    function_name: str = "ThumbnailFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:ThumbnailFunction"
    deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def peak_rss_kb(pid: int | str = "self") -> int | None:
    """A process's peak resident memory in KiB (Linux: VmHWM), None if it cannot be known.

    Not getrusage's ru_maxrss: Linux carries it over fork and exec, so a worker would report
    its parent's peak. Elsewhere only this process's own ru_maxrss is available.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        if pid != "self":
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) if line else None


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, str]:
    """An error as Lambda's runtime reports it."""
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exc(),
    }


def _serve(
    connection: Connection,
    env: dict[str, str],
    log_path: str | None,
    handler: str,
    parent_pid: int,
) -> None:
    """One execution environment: the init phase once, then one event at a time, until EOF."""
    exit_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle: it stops us
    os.environ.update(env)
    if log_path:
        # Powertools logs to stdout; keep the function's output out of the runner's terminal.
        sys.stdout = sys.stderr = open(log_path, "a", buffering=1)  # noqa: SIM115
    faulthandler.enable(sys.stderr)  # a segfault leaves its traceback in the function's log
    sys.path.insert(0, str(LAMBDA_DIR))
    function: Callable[[dict[str, Any], Any], Any] | None = None
    init_error = None
    try:
        module, _, name = handler.partition(":")
        function = getattr(importlib.import_module(module), name)
    except Exception as exc:  # noqa: BLE001 - reported with every invocation, as Lambda does
        init_error = _error(exc, "Runtime.InitError")
    connection.send("ready")
    while True:
        try:
            event_json, timeout_seconds = connection.recv()
        except EOFError:
            return
        connection.send(_run(function, init_error, event_json, timeout_seconds))


def _run(
    function: Callable[[dict[str, Any], Any], Any] | None,
    init_error: dict[str, str] | None,
    event_json: str,
    timeout_seconds: float,
) -> dict[str, Any]:
    context = _Context(
        aws_request_id=str(uuid.uuid4()), deadline=time.monotonic() + timeout_seconds
    )
    started = time.perf_counter()
    response, error = None, init_error
    if function is not None:
        try:
            response = function(json.loads(event_json), context)
        except Exception as exc:  # noqa: BLE001 - reported to the invoker, which retries
            error = _error(exc)
    return {
        "response": response,
        "error": error,
        "request_id": context.aws_request_id,
        "duration_ms": (time.perf_counter() - started) * 1000,
        "max_rss_kb": peak_rss_kb(),
    }


class EnvironmentLostError(Exception):
    """The execution environment crashed or timed out; Lambda would throw it away."""


class InvokerClosedError(Exception):
    """The invoker was shut down while the event was in flight."""


class ExecutionEnvironment:
    """One warm worker process running the handler, one event at a time."""

    def __init__(self, env: dict[str, str], log_path: str | None, handler: str) -> None:
        context = get_context("spawn")
        self._connection, child_end = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(child_end, env, log_path, handler, os.getpid()),
            name="lambda-execution-environment",
            daemon=True,  # belt and braces: multiprocessing ends daemons at interpreter exit
        )
        self.process.start()
        child_end.close()
        self._initialised = False

    def invoke(self, event_json: str, timeout_seconds: float) -> dict[str, Any]:
        """The handler's result, or `EnvironmentLostError` if the process died or hung."""
        try:
            if not self._initialised:
                if not self._connection.poll(INIT_SECONDS):
                    raise EnvironmentLostError(f"Init timed out after {INIT_SECONDS:.2f} seconds")
                self._connection.recv()
                self._initialised = True
            self._connection.send((event_json, timeout_seconds))
            if not self._connection.poll(timeout_seconds):
                raise EnvironmentLostError(f"Task timed out after {timeout_seconds:.2f} seconds")
            return self._connection.recv()
        except (EOFError, OSError) as exc:
            raise EnvironmentLostError(f"Runtime.ExitError: {self._exit_status()}") from exc

    def _exit_status(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is None:
            return "Runtime exited without a response"
        if code < 0:
            return f"Runtime exited with error: signal: {signal.Signals(-code).name}"
        return f"Runtime exited with error: exit status {code}"

    def close(self) -> None:
        """End the process (it may be in the middle of an event) and reap it, bounded."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=3)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=3)
        self._connection.close()


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
        self._timeout, self._retry_delay = timeout_seconds, retry_delay_seconds
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
                result = environment.invoke(event_json, self._timeout)
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
        """What Lambda's DeadLetterConfig delivers: the original event, the error as attributes."""
        self._sqs.send_message(
            QueueUrl=self._dlq_url,
            MessageBody=event_json,
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": error[:1000] or "error"},
            },
        )

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


# --- Lambda's SQS event source mapping (IngestMode=queue) -------------------------------------


def lambda_sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A ReceiveMessage message, in the shape Lambda's event source mapping hands it over."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


@dataclass
class QueuedMessage:
    """One message of a batch: what it carried and whether the function reported it failed."""

    message_id: str
    body: dict[str, Any]  # the S3 notification, as S3 sent it ({} if it holds none)
    receive_count: int
    failed: bool

    @property
    def keys(self) -> list[str]:
        return notification_keys(self.body)


@dataclass
class BatchInvocation:
    """One synchronous invocation by the event source mapping, and what it came to."""

    event: dict[str, Any]
    messages: list[QueuedMessage]
    response: dict[str, Any] | None = None
    error: str = ""
    duration_ms: float = 0.0
    max_rss_kb: int | None = None
    finished_at: float = 0.0


def _notification(body: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


class EventSourceMapping:
    """Lambda's SQS poller: batches in, one synchronous invoke each, successes deleted.

    As Lambda does with FunctionResponseTypes: [ReportBatchItemFailures]: the messages named in
    the response's batchItemFailures (all of them, if the invocation failed) are left alone, so
    they reappear after the queue's visibility timeout; the queue's redrive policy, not the
    poller, moves a message received maxReceiveCount times to the dead-letter queue.
    """

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        invoker: LambdaInvoker,
        *,
        batch_size: int = 10,
        batching_window_seconds: float = 0.0,
        on_batch: Callable[[BatchInvocation], None],
    ) -> None:
        self._sqs, self._url, self._invoker = sqs, queue_url, invoker
        self._batch_size, self._window = batch_size, batching_window_seconds
        self._on_batch = on_batch
        self.queue_arn = _queue_arn(sqs, queue_url)
        self._enabled = threading.Event()
        self._enabled.set()
        self._idle = threading.Condition()
        self._in_flight = 0  # pollers receiving or handling a batch

    def disable(self) -> None:
        """Like `aws lambda update-event-source-mapping --no-enabled`; returns once idle."""
        self._enabled.clear()
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0)

    def enable(self) -> None:
        self._enabled.set()

    def run(self, stop: threading.Event) -> None:
        """One poller: one batch at a time, until `stop`. Several may run at once, as in Lambda."""
        while not stop.is_set():
            if not self._enabled.wait(timeout=0.2):
                continue
            with self._idle:
                if not self._enabled.is_set():
                    continue
                self._in_flight += 1
            try:
                messages = self._receive_batch()
                if messages:
                    self._on_batch(self._invoke(messages))
            except InvokerClosedError:
                return  # shutting down: the batch reappears after its visibility timeout
            except Exception:
                if stop.is_set():
                    return
                raise
            finally:
                with self._idle:
                    self._in_flight -= 1
                    self._idle.notify_all()

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        return list(
            self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=min(count, 10),
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        )

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Up to batch_size messages, waiting at most the batching window to fill the batch."""
        # By id: a message whose visibility timeout ran out while the batch filled comes back
        # with a new receipt handle, the only one that can still delete it.
        batch = {m["MessageId"]: m for m in self._receive(self._batch_size, wait_seconds=1)}
        deadline = time.monotonic() + self._window
        while batch and len(batch) < self._batch_size and time.monotonic() < deadline:
            more = self._receive(self._batch_size - len(batch), wait_seconds=0)
            batch.update((m["MessageId"], m) for m in more)
            time.sleep(0.05)
        return list(batch.values())

    def _invoke(self, messages: list[dict[str, Any]]) -> BatchInvocation:
        """One synchronous invocation, never retried here: what failed comes back from SQS."""
        event = {"Records": [lambda_sqs_record(message, self.queue_arn) for message in messages]}
        result, error = self._invoker.attempt(json.dumps(event))
        response = result["response"] if result else None
        if result is None:
            failed = {message["MessageId"] for message in messages}
        else:
            # No response or an empty list means the whole batch succeeded, as in Lambda.
            reported = (response or {}).get("batchItemFailures") or []
            failed = {item["itemIdentifier"] for item in reported}
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return BatchInvocation(
            event,
            [
                QueuedMessage(
                    message["MessageId"],
                    _notification(message["Body"]),
                    int(message["Attributes"]["ApproximateReceiveCount"]),
                    message["MessageId"] in failed,
                )
                for message in messages
            ],
            response=response,
            error=error,
            duration_ms=result["duration_ms"] if result else 0.0,
            max_rss_kb=result["max_rss_kb"] if result else None,
            finished_at=time.time(),
        )

    def pending(self) -> int:
        """Messages in the queue, visible or in flight."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())


# --- the whole local pipeline ------------------------------------------------------------------


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


def thumbnail_namer(function_env: dict[str, str]) -> Callable[[str], set[str]]:
    """Every key the function may write for an upload (renditions, manifest), by its own naming
    code: an animation has no AVIF, so a caller keeps those that exist."""
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))  # the function's code root, as Lambda sees it
    from thumbnailer.keys import planned_keys, relative_key
    from thumbnailer.settings import Settings

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
                    "POWERTOOLS_TRACE_DISABLED": "1",
                },
                self.stack.dlq_url,
                self.aws.client("sqs"),
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

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every DLQ message so far, parsed (the function's own records and Lambda's failed
        events). Reading drains the local queue; the messages are kept here."""
        while True:  # bounded: every round deletes what it read, and SQS gives 10 at a time
            messages = self.sqs.receive_message(
                QueueUrl=self.stack.dlq_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=60,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return list(self._dead_letters.values())
            for message in messages:
                self._dead_letters[message["MessageId"]] = json.loads(message["Body"])
            self.sqs.delete_message_batch(
                QueueUrl=self.stack.dlq_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(messages)
                ],
            )

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
            self.aws.client("sqs"),
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

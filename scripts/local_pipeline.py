"""A local twin of the deployed stack: moto over HTTP, S3's own notifications, the real handler.

    LocalAws       moto's server in its own process, on a free 127.0.0.1 port
    LocalStack     the template's resources created there: input and output buckets, the DLQ,
                   and the input bucket's notification (ObjectCreated, plus ObjectRemoved with
                   SyncDeletes; same prefix filter), delivered to an SQS queue that stands in for
                   Lambda's event source; with IngestMode=queue, to the stack's real ingest queue
                   (redrive policy included)
    LambdaInvoker  Lambda's asynchronous invoke: warm worker processes running the real handler,
                   two retries, then the event goes to the DLQ, as Lambda does
    EventSourceMapping  IngestMode=queue: Lambda's SQS poller, batches in the shape Lambda
                   delivers them, partial batch responses honoured, failed messages left to
                   reappear (and to be redriven to the DLQ by the queue itself)
    LocalPipeline  all of it, plus a dispatcher thread that feeds every notification S3 sent
                   (s3:TestEvent included) to the invoker, untouched

No event is built by hand on this path: the handler sees exactly the JSON moto's S3 produced.
The handler runs in worker processes, so a crash there cannot take the stand-in down, and
everything is shut down on exit, Ctrl-C included.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import unquote_plus
from urllib.request import urlopen

import boto3

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
    """moto in server mode, in a child process, on 127.0.0.1."""

    def __init__(self, log_path: Path | None = None, startup_seconds: float = 30.0) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self._startup_seconds = startup_seconds
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LocalAws:
        log = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self._startup_seconds
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"moto server exited at start-up (code {self._process.returncode})"
                )
            try:
                with urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310 - loopback
                    return self
            except (URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.__exit__(None, None, None)
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


def _init_worker(env: dict[str, str], log_path: str | None) -> None:
    """A Lambda execution environment's init phase: environment, logs, then import the handler."""
    os.environ.update(env)
    if log_path:
        # Powertools logs to stdout; keep the worker's output out of the runner's terminal.
        sys.stdout = open(log_path, "a", buffering=1)  # noqa: SIM115
    sys.path.insert(0, str(LAMBDA_DIR))
    import app  # noqa: F401 - init happens here, exactly once per worker


def _invoke_in_worker(event_json: str, timeout_seconds: float) -> dict[str, Any]:
    import app

    context = _Context(
        aws_request_id=str(uuid.uuid4()), deadline=time.monotonic() + timeout_seconds
    )
    started = time.perf_counter()
    try:
        response = app.lambda_handler(json.loads(event_json), context)
        error = None
    except Exception as exc:  # noqa: BLE001 - reported to the invoker, which retries like Lambda
        response, error = None, {
            "type": type(exc).__name__,
            "message": str(exc),
            "trace": traceback.format_exc(),
        }
    return {
        "response": response,
        "error": error,
        "request_id": context.aws_request_id,
        "duration_ms": (time.perf_counter() - started) * 1000,
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


@dataclass
class Invocation:
    """One event's fate: its handler response, or its error and whether it went to the DLQ."""

    event: dict[str, Any]
    attempts: int
    response: dict[str, Any] | None = None
    error: str = ""
    dead_lettered: bool = False
    duration_ms: float = 0.0
    max_rss_kb: int = 0
    finished_at: float = 0.0

    @property
    def keys(self) -> list[str]:
        return [
            unquote_plus(record["s3"]["object"]["key"]) for record in self.event.get("Records", [])
        ]


class LambdaInvoker:
    """Asynchronous invocation as Lambda does it: retries on error, then the dead-letter queue."""

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
    ) -> None:
        self._env, self._dlq_url, self._sqs = env, dlq_url, sqs
        self._workers, self._max_retries = workers, max_retries
        self._timeout, self._retry_delay = timeout_seconds, retry_delay_seconds
        self._log_path = str(log_path) if log_path else None
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._env, self._log_path),
        )

    def _restart_pool(self, broken: ProcessPoolExecutor) -> None:
        """A crashed or hung worker is replaced, as Lambda replaces an execution environment."""
        with self._lock:
            if self._pool is not broken:
                return
            for process in list(getattr(broken, "_processes", {}).values()):
                process.kill()
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()

    def attempt(self, event_json: str) -> tuple[dict[str, Any] | None, str]:
        """One synchronous invocation: (the worker's result, "") or (None, why it failed)."""
        pool = self._pool
        try:
            result = pool.submit(_invoke_in_worker, event_json, self._timeout).result(
                timeout=self._timeout + 5
            )
        except FutureTimeout:
            self._restart_pool(pool)
            return None, f"Task timed out after {self._timeout:.0f} seconds"
        except BrokenProcessPool:
            self._restart_pool(pool)
            return None, "Runtime.ExitError: the execution environment crashed"
        if result["error"] is not None:
            return None, f"{result['error']['type']}: {result['error']['message']}"
        return result, ""

    def invoke(self, event: dict[str, Any]) -> Invocation:
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
            if attempt <= self._max_retries:
                time.sleep(self._retry_delay * attempt)
        self._dead_letter(event_json, error)
        return Invocation(
            event, self._max_retries + 1, error=error, dead_lettered=True, finished_at=time.time()
        )

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
        self._pool.shutdown(wait=True, cancel_futures=True)


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
    keys: list[str]
    receive_count: int
    failed: bool


@dataclass
class BatchInvocation:
    """One synchronous invocation by the event source mapping, and what it came to."""

    event: dict[str, Any]
    messages: list[QueuedMessage]
    response: dict[str, Any] | None = None
    error: str = ""
    finished_at: float = 0.0


def _notification_keys(body: str) -> list[str]:
    try:
        document = json.loads(body)
    except ValueError:
        return []
    records = document.get("Records", []) if isinstance(document, dict) else []
    return [unquote_plus(record["s3"]["object"]["key"]) for record in records if "s3" in record]


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
        self._busy = threading.Lock()  # held while a batch is received and handled

    def disable(self) -> None:
        """Like `aws lambda update-event-source-mapping --no-enabled`; returns once idle."""
        self._enabled.clear()
        with self._busy:
            pass

    def enable(self) -> None:
        self._enabled.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self._enabled.wait(timeout=0.2):
                continue
            with self._busy:
                if not self._enabled.is_set():
                    continue
                try:
                    messages = self._receive_batch()
                except Exception:
                    if stop.is_set():
                        return
                    raise
                if messages:
                    self._on_batch(self._invoke(messages))

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
                    _notification_keys(message["Body"]),
                    int(message["Attributes"]["ApproximateReceiveCount"]),
                    message["MessageId"] in failed,
                )
                for message in messages
            ],
            response=response,
            error=error,
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
    ) -> None:
        self._workers = workers
        self._log_dir = log_dir
        self._overrides = overrides or {}
        self._max_retries = max_retries
        self._parameters = parameters or {}
        self._stop = threading.Event()
        self._done = threading.Condition()
        self.invocations: list[Invocation] = []
        self.batches: list[BatchInvocation] = []  # IngestMode=queue
        self._exit = ExitStack()

    def __enter__(self) -> LocalPipeline:
        try:
            if self._log_dir:
                self._log_dir.mkdir(parents=True, exist_ok=True)
            self.aws = self._exit.enter_context(LocalAws(self._log("moto.log")))
            self.stack = LocalStack(
                self.aws, overrides=self._overrides, parameters=self._parameters
            ).create()
            self.s3, self.sqs = self.aws.client("s3"), self.aws.client("sqs")
            self.invoker = LambdaInvoker(
                {
                    **self.stack.function_env,
                    **self.aws.environment,
                    "POWERTOOLS_TRACE_DISABLED": "1",
                },
                self.stack.dlq_url,
                self.aws.client("sqs"),
                workers=self._workers,
                max_retries=self._max_retries,
                log_path=self._log("function.jsonl"),
            )
            self._exit.callback(self.invoker.close)
            if self.stack.queued:
                self._start_event_source_mapping()
            else:
                self._start_dispatcher()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def _log(self, name: str) -> Path | None:
        return self._log_dir / name if self._log_dir else None

    def _start_dispatcher(self) -> None:
        self._deliveries = ThreadPoolExecutor(max_workers=self._workers)
        self._exit.callback(self._deliveries.shutdown, wait=True, cancel_futures=True)
        self._dispatcher = threading.Thread(target=self._dispatch, daemon=True)
        self._dispatcher.start()
        self._exit.callback(self._stop_dispatcher)

    def _stop_dispatcher(self) -> None:
        self._stop.set()
        self._dispatcher.join(timeout=10)

    def _dispatch(self) -> None:
        """S3's notifications, straight from the queue to Lambda's invoke, as they came."""
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.stack.events_queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                ).get("Messages", [])
            except Exception:
                if self._stop.is_set():
                    return
                raise
            for message in messages:
                self._deliveries.submit(self._deliver, message)

    def _deliver(self, message: dict[str, Any]) -> None:
        try:
            invocation = self.invoker.invoke(json.loads(message["Body"]))
        except Exception:
            # The runner itself broke, not the function: say so, and leave the message queued.
            traceback.print_exc(file=sys.stderr)
            raise
        self.sqs.delete_message(
            QueueUrl=self.stack.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
        )
        with self._done:
            self.invocations.append(invocation)
            self._done.notify_all()

    def upload(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.stack.input_bucket, Key=key, Body=data)

    def wait_for(
        self, keys: Iterable[str], timeout_seconds: float = 120.0
    ) -> dict[str, Invocation]:
        """Block until every key's event has been handled (or dead-lettered); bounded in time."""
        wanted = set(keys)
        deadline = time.monotonic() + timeout_seconds
        with self._done:
            while True:
                found = {key: inv for inv in self.invocations for key in inv.keys if key in wanted}
                if len(found) == len(wanted):
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    missing = sorted(wanted - set(found))
                    raise TimeoutError(f"no outcome after {timeout_seconds:.0f}s for: {missing}")
                self._done.wait(timeout=min(remaining, 1.0))

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every DLQ message, parsed (the function's own records and Lambda's failed events)."""
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(50):  # bounded: SQS returns at most 10 messages a call
            messages = self.sqs.receive_message(
                QueueUrl=self.stack.dlq_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen[message["MessageId"]] = json.loads(message["Body"])
        return list(seen.values())

    def thumbnails(self) -> Iterator[tuple[str, bytes]]:
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.stack.output_bucket):
            for item in page.get("Contents", []):
                body = self.s3.get_object(Bucket=self.stack.output_bucket, Key=item["Key"])["Body"]
                yield item["Key"], body.read()

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
        poller = threading.Thread(target=self.ingest.run, args=(self._stop,), daemon=True)
        poller.start()

        def stop_poller() -> None:
            self._stop.set()
            poller.join(timeout=10)

        self._exit.callback(stop_poller)

    def _record_batch(self, batch: BatchInvocation) -> None:
        with self._done:
            self.batches.append(batch)
            self._done.notify_all()

    def pause_ingest(self) -> None:
        """Disable the event source mapping: uploads wait in the ingest queue."""
        self.ingest.disable()

    def resume_ingest(self) -> None:
        self.ingest.enable()

    def wait_for_ingest(
        self, keys: Iterable[str], timeout_seconds: float = 120.0
    ) -> dict[str, str]:
        """Block until each key's message is settled; bounded in time.

        "processed": the function took it and the poller deleted it. "redriven": the function
        reported it failed on its last allowed receive, and it has left the ingest queue, whose
        redrive policy moved it to the dead-letter queue.
        """
        wanted = set(keys)
        max_receives = int(self.stack.effective_parameters["IngestMaxReceiveCount"])
        deadline = time.monotonic() + timeout_seconds
        while True:
            with self._done:
                fates: dict[str, str] = {}
                for batch in self.batches:
                    for message in batch.messages:
                        for key in wanted.intersection(message.keys):
                            if not message.failed:
                                fates[key] = "processed"
                            elif message.receive_count >= max_receives:
                                fates.setdefault(key, "redriven")
            settled = len(fates) == len(wanted)
            if settled and ("redriven" not in fates.values() or self.ingest.pending() == 0):
                return fates
            if time.monotonic() > deadline:
                raise TimeoutError(f"not settled after {timeout_seconds:.0f}s: {sorted(wanted)}")
            with self._done:
                self._done.wait(timeout=0.5)

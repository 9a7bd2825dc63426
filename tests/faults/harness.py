"""The fault suite's harness over the local twin: the twin with the hooked function, the tools
run with the same hooks, count-based waits that fail when they expire, and the invariant
(`check_invariant` of the load test, given what the buckets and queues hold)."""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import Any

from scripts.bench.loadtest import Verdict, check_invariant
from scripts.local.pipeline import LocalPipeline, dead_letter_keys, function_module
from scripts.ops.demo import tool_environment
from tests.faults.injector import FaultPlan, Injector, quick_retries

HANDLER = "tests.faults.faulty_function:lambda_handler"
#: The template's parameters for the suite: two small widths in WebP and AVIF, a manifest, and
#: deletes synced: every kind of file a set has.
PARAMETERS = {
    "ThumbnailSizes": "64,128",
    "OutputFormats": "webp,avif",
    "WriteManifest": "true",
    "SyncDeletes": "true",
}
POLL_SECONDS = 0.1


def wait_until(what: str, condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Poll `condition` (bounded); fail, naming `what`, when the time is up."""
    for _ in range(int(seconds / POLL_SECONDS)):
        if condition():
            return
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"gave up waiting for {what} after {seconds:.0f}s")


def events_for(twin: LocalPipeline, key: str) -> list[Any]:
    """The invocations (each to its end: success or the failed-event queue) naming `key`."""
    return [invocation for invocation in list(twin.invocations) if key in invocation.keys]


def wait_for_events(twin: LocalPipeline, key: str, count: int, seconds: float = 60.0) -> list:
    wait_until(
        f"{count} event(s) of {key} handled", lambda: len(events_for(twin, key)) >= count, seconds
    )
    return events_for(twin, key)


def wait_for_fired(plan: FaultPlan, index: int = 0, count: int = 1) -> None:
    wait_until(f"fault {index} fired {count} time(s)", lambda: plan.faults()[index].fired >= count)


@contextmanager
def hooked_tools(twin: LocalPipeline, plan: FaultPlan, monkeypatch: Any) -> Any:
    """This process as an operator's shell configured like the function (the function's whole
    environment, the failed-event queue, the operator's credentials), its clients hooked."""
    from thumbnailer.storage import aws_client

    env = tool_environment(twin)
    env.pop("PYTHONPATH")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    aws_client.cache_clear()
    quick_retries(monkeypatch)
    injector = Injector(plan)
    for service in ("s3", "sqs", "sns"):
        injector.install(aws_client(service).meta.events)
    try:
        yield
    finally:
        aws_client.cache_clear()


class Expectations:
    """What each source must have, by the function's own naming code and settings."""

    def __init__(self, twin: LocalPipeline) -> None:
        self._twin = twin
        settings = function_module("thumbnailer.settings").Settings.from_env(
            twin.stack.function_env
        )
        self._settings = settings
        self._keys = function_module("thumbnailer.keys")
        self._formats_for = function_module("thumbnailer.image.renditions").formats_for

    def outputs(self, key: str, *, animated: bool = False) -> set[str]:
        settings = self._settings
        return set(
            self._keys.planned_keys(
                self._keys.relative_key(key, settings.input_prefix),
                widths=settings.thumb_widths,
                formats=self._formats_for(settings.output_formats, animated=animated),
                crops=settings.crop_sizes,
                manifest=settings.write_manifest,
            )
        )

    def verdict(
        self, live: dict[str, bool], output_prefix: str, dead: Iterable[dict[str, Any]] = ()
    ) -> Verdict:
        """The invariant over the outputs under `output_prefix`: each live source (key ->
        animated) has exactly its complete set, made from its current version, and a manifest
        listing only files that exist, or exactly one dead letter; nothing else is there."""
        s3, bucket = self._twin.s3, self._twin.stack.output_bucket
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=output_prefix).get("Contents", [])
        outputs = {item["Key"] for item in listing}
        current = {
            key: s3.head_object(Bucket=self._twin.stack.input_bucket, Key=key)["ETag"].strip('"')
            for key in live
        }
        stale, gaps = [], {}
        for key in live:
            for output in self.outputs(key, animated=live[key]) & outputs:
                metadata = s3.head_object(Bucket=bucket, Key=output)["Metadata"]
                if metadata.get("source-etag") != current[key]:
                    stale.append(output)
        for manifest in (key for key in outputs if key.endswith(".json")):
            document = json.loads(s3.get_object(Bucket=bucket, Key=manifest)["Body"].read())
            gaps[manifest] = [r["key"] for r in document["renditions"] if r["key"] not in outputs]
        counts = Counter(key for body in dead for key in dead_letter_keys(body))
        return check_invariant(
            {key: self.outputs(key, animated=animated) for key, animated in live.items()},
            outputs,
            counts,
            stale_outputs=stale,
            manifest_gaps=gaps,
        )


def dead_letters_under(twin: LocalPipeline, prefix: str) -> list[dict[str, Any]]:
    """Every dead letter (both queues) naming a key under `prefix`; reading drains them."""
    return [
        body
        for body in twin.dead_letters()
        if any(key.startswith(prefix) for key in dead_letter_keys(body))
    ]


def queue_depth(twin: LocalPipeline, url: str) -> int:
    attributes = twin.sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def notify_version_deleted(twin: LocalPipeline, key: str, version_id: str) -> None:
    """The ObjectRemoved:Delete S3 sends when one version of `key` is deleted for good, which
    moto does not send while other versions remain: moto's last record for the key, renamed,
    naming the version, with a later sequencer."""
    records = [r for i in events_for(twin, key) for r in i.event.get("Records", [])]
    record = copy.deepcopy(records[-1])
    later = max(r["s3"]["object"].get("sequencer", "0") for r in records)
    record["eventName"] = "ObjectRemoved:Delete"
    record["s3"]["object"] = {
        "key": record["s3"]["object"]["key"],
        "versionId": version_id,
        "sequencer": f"{int(later, 16) + 1:0{len(later)}X}",
    }
    twin.sqs.send_message(
        QueueUrl=twin.stack.events_queue_url, MessageBody=json.dumps({"Records": [record]})
    )


def describe(verdict: Verdict) -> str:
    return f"violations {verdict.violations}, strays {verdict.stray_outputs}"

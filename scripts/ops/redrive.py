"""`make redrive`: replay the dead-letter queue through the function's own code.

The queue holds these kinds of message, and all are understood:

    function record   the function's own report of a bad object (JSON, "schema": ".../failure/v1")
    failed event      an S3 event Lambda gave up on after its retries (the event as the body;
                      ErrorCode / ErrorMessage / RequestID as attributes), or, with
                      IngestMode=queue, an S3 notification the ingest queue redrove after
                      IngestMaxReceiveCount receives (the same body, no attributes)

Each object named in a message goes through `ThumbnailService.process`, as an event would:
same checks, same output, and an object replaced or deleted since then is not made from stale
bytes. A message is deleted only once every object in it is done. An object that fails again
gets exactly one fresh function record with the new reason (and `replays` counted up), sent
before the old message is deleted; a failed event with several objects is split that way, so
after a replay the queue holds one record per failing object. Two messages for the same object
in one run are replayed once and leave at most one record. Messages it does not understand are
left as they were. `--dry-run` only lists what would be replayed, and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from aws_lambda_powertools.utilities.data_classes import S3Event
from botocore.exceptions import BotoCoreError, ClientError

from scripts.ops.aws import DeadLetterMailbox, QueueMessage
from scripts.ops.common import (
    CONFIGURATION_HINT,
    LOG_DIR,
    add_deployment_arguments,
    function_output_to,
    make_service,
    resolve_deployment,
)
from thumbnailer.errors import SettingsError, TransientError
from thumbnailer.models import SourceObject, Status
from thumbnailer.processing import FAILURE_RECORD_SCHEMA, ThumbnailService
from thumbnailer.provenance import normalise_etag
from thumbnailer.storage import DeadLetterQueue

FUNCTION_RECORD = "function record"
FAILED_EVENT = "failed event"
UNKNOWN = "unknown"
TRANSIENT_REASON = "transient_error"
# Long enough to replay the ten messages of one receive before another reader may see them.
VISIBILITY_TIMEOUT_SECONDS = 300
WAIT_SECONDS = 2
# SQS's maximum: records re-queued by this run stay out of its sight until it has finished.
REQUEUE_DELAY_SECONDS = 900
MAX_DETAIL = 160  # characters of a reason or error shown per line; the records keep them whole


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ message, understood: what kind it is and which objects it names."""

    message: QueueMessage
    kind: str
    sources: tuple[SourceObject, ...] = ()
    detail: str = ""  # the recorded reason, Lambda's error message, or why it is not understood
    replays: int = 0


def parse_dead_letter(message: QueueMessage) -> DeadLetter:
    try:
        body = json.loads(message.body)
    except ValueError:
        return DeadLetter(message, UNKNOWN, detail="the body is not JSON")
    if not isinstance(body, dict):
        return DeadLetter(message, UNKNOWN, detail="the body is not a JSON object")
    try:
        if str(body.get("schema", "")).split("/")[:2] == FAILURE_RECORD_SCHEMA.split("/")[:2]:
            return _function_record(message, body)
        if body.get("Records"):
            sources = tuple(SourceObject.from_s3_record(r) for r in S3Event(body).records)
            return DeadLetter(
                message, FAILED_EVENT, sources, message.attributes.get("ErrorMessage", "")
            )
    except (KeyError, TypeError, ValueError) as exc:
        return DeadLetter(message, UNKNOWN, detail=f"malformed: {type(exc).__name__}: {exc}")
    return DeadLetter(message, UNKNOWN, detail="neither a function record nor an S3 event")


def _function_record(message: QueueMessage, body: dict) -> DeadLetter:
    source = SourceObject(
        bucket=body["bucket"],
        key=body["key"],
        event_name=body.get("event_name") or "ObjectCreated:Put",
        size=body.get("size"),
        etag=body.get("etag") or "",
        version_id=body.get("version_id"),
        sequencer=body.get("sequencer") or "",
        event_time=body.get("event_time") or "",
        s3_request_id=body.get("s3_request_id") or "",
    )
    return DeadLetter(
        message, FUNCTION_RECORD, (source,), str(body["reason"]), int(body.get("replays", 0))
    )


@dataclass
class Summary:
    replayed: int = 0  # objects now done (written, up to date, superseded, gone)
    still_failing: int = 0  # objects that failed again: one fresh record each
    skipped: int = 0  # messages left as they were
    duplicates: int = 0  # messages for objects already replayed in this run, deleted
    would_replay: int = 0  # --dry-run: objects that would be replayed
    outcomes: Counter[str] = field(default_factory=Counter)

    def lines(self, dry_run: bool) -> list[str]:
        if dry_run:
            return [
                f"dry run: {self.would_replay} object(s) would be replayed, "
                f"{self.skipped} message(s) skipped; nothing was changed"
            ]
        details = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items()))
        lines = [
            f"replayed: {self.replayed}   still failing: {self.still_failing}   "
            f"skipped: {self.skipped}"
        ]
        if self.still_failing:
            lines.append(
                f"  still failing objects were re-queued with their new reason; they show in "
                f"the queue again in {REQUEUE_DELAY_SECONDS // 60} minutes"
            )
        if details:
            lines.append(f"  outcomes: {details}")
        if self.duplicates:
            lines.append(f"  duplicate messages removed: {self.duplicates}")
        return lines


class Redrive:
    def __init__(
        self,
        mailbox: DeadLetterMailbox,
        service: ThumbnailService,
        dead_letters: DeadLetterQueue,
        out: TextIO,
        *,
        dry_run: bool = False,
    ) -> None:
        self._mailbox, self._service, self._dead_letters = mailbox, service, dead_letters
        self._out, self._dry_run = out, dry_run
        self.summary = Summary()
        self._sent: set[str] = set()  # ids of the records this run re-queued
        self._kept: list[QueueMessage] = []  # looked at and left: made visible again at the end
        # (bucket, key, etag) -> None if it is done, else its new failure reason
        self._replayed: dict[tuple[str, str, str], str | None] = {}

    def run(self, max_messages: int) -> Summary:
        seen: set[str] = set()
        try:
            # Bounded: every round handles at least one new message or ends the loop.
            while len(seen) < max_messages:
                batch = self._mailbox.receive(
                    max_messages=max_messages - len(seen),
                    visibility_timeout=VISIBILITY_TIMEOUT_SECONDS,
                    wait_seconds=WAIT_SECONDS,
                )
                fresh = [m for m in batch if m.message_id not in seen | self._sent]
                # This run's own re-queued records (visible early if SQS ignored the delay) are
                # handed back untouched.
                self._kept.extend(m for m in batch if m.message_id in self._sent)
                if not fresh:
                    break
                for message in fresh:
                    seen.add(message.message_id)
                    self._handle(parse_dead_letter(message))
        finally:
            self._mailbox.release(self._kept)
        return self.summary

    def _print(self, verb: str, subject: str, detail: str) -> None:
        if len(detail) > MAX_DETAIL:
            detail = detail[: MAX_DETAIL - 3] + "..."
        print(f"{verb:<14} {subject}  ({detail})", file=self._out)

    def _handle(self, letter: DeadLetter) -> None:
        if letter.kind == UNKNOWN:
            self._print("skipped", f"message {letter.message.message_id}", letter.detail)
            self._kept.append(letter.message)
            self.summary.skipped += 1
            return
        if self._dry_run:
            for source in letter.sources:
                self._print("would replay", _name(source), f"{letter.kind}: {letter.detail}")
            self.summary.would_replay += len(letter.sources)
            self._kept.append(letter.message)
            return

        failures: list[tuple[SourceObject, str, str, bool]] = []
        new = 0
        for source in letter.sources:
            identity = (source.bucket, source.key, normalise_etag(source.etag))
            if identity in self._replayed:
                continue  # replayed earlier in this run; it has its record if it still fails
            new += 1
            failure = self._replay(source)
            self._replayed[identity] = failure[0] if failure else None
            if failure:
                failures.append((source, *failure))
        try:
            for source, reason, message, retryable in failures:
                record = self._service.failure_record(
                    source, reason=reason, message=message, retryable=retryable
                )
                record["replays"] = letter.replays + 1
                self._sent.add(self._dead_letters.send(record, delay_seconds=REQUEUE_DELAY_SECONDS))
        except TransientError as exc:
            self._print("kept", f"message {letter.message.message_id}", f"cannot re-queue: {exc}")
            self._kept.append(letter.message)
            self.summary.skipped += 1
            return
        self._mailbox.delete(letter.message)
        if not new:
            self.summary.duplicates += 1

    def _replay(self, source: SourceObject) -> tuple[str, str, bool] | None:
        """None if the object is done; else its new failure: reason, message, retryable."""
        try:
            outcome = self._service.process(source, report_bad_objects=False)
        except Exception as exc:  # noqa: BLE001 - recorded with the object, never lost
            self._print("still failing", _name(source), f"{TRANSIENT_REASON}: {exc}")
            self.summary.still_failing += 1
            return TRANSIENT_REASON, str(exc), True
        if outcome.status is Status.REJECTED:
            self._print("still failing", _name(source), f"{outcome.reason}: {outcome.message}")
            self.summary.still_failing += 1
            return outcome.reason, outcome.message, False
        label = outcome.status.value + (f": {outcome.reason}" if outcome.reason else "")
        self._print("replayed", _name(source), label)
        self.summary.replayed += 1
        self.summary.outcomes[label] += 1
        return None


def _name(source: SourceObject) -> str:
    return f"s3://{source.bucket}/{source.key}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_deployment_arguments(parser)
    parser.add_argument("--queue-url", help="the dead-letter queue (default: the function's)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed")
    parser.add_argument(
        "--max-messages", type=int, default=1000, help="stop after this many (default 1000)"
    )
    args = parser.parse_args(argv)
    if args.max_messages < 1:
        parser.error("--max-messages must be at least 1")
    try:
        settings = resolve_deployment(args, {"DLQ_URL": args.queue_url}).settings
        print(f"redrive: {settings.dlq_url} (up to {args.max_messages} messages)")
        with function_output_to(LOG_DIR / "redrive.jsonl") as console:
            summary = Redrive(
                DeadLetterMailbox(settings.dlq_url),
                make_service(settings),
                DeadLetterQueue(settings.dlq_url),
                console,
                dry_run=args.dry_run,
            ).run(args.max_messages)
    except SettingsError as exc:
        print(f"redrive: {exc}; {CONFIGURATION_HINT}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError, TransientError) as exc:
        print(f"redrive: AWS error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(summary.lines(args.dry_run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

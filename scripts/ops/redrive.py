"""`make redrive`: replay the dead-letter queues through the function's own code.

It reads the dead-letter queue (DLQ_URL: the function's records of bad objects), then the
failed-event queue (the stack's FailedEventQueueUrl, or FAILED_EVENT_QUEUE_URL), or only the
queue given with --queue-url. They hold these kinds of message, and all are understood:

    function record   the function's own report of a bad object (JSON, "schema": ".../failure/v1")
    failed event      an S3 event Lambda gave up on after its retries (the event as the body;
                      ErrorCode / ErrorMessage / RequestID as attributes), or, with
                      IngestMode=queue, an S3 notification the ingest queue redrove after
                      IngestMaxReceiveCount receives (the same body, no attributes)

Each object named in a message goes through `ThumbnailService.process`, as an event would:
same checks, same output, and an object replaced or deleted since then is not made from stale
bytes. A message is deleted only once every object in it is done: written, deleted, up to date,
superseded or gone; a replay that did not do the work (the object outside this run's input
prefix) keeps the message. An object that fails again gets exactly one fresh function record
with the new reason (and `replays` counted up), sent before the old message is deleted: to the
dead-letter queue if the object is still bad, to the failed-event queue (which alarms) if the
world failed again: the stack's or FAILED_EVENT_QUEUE_URL, else the queue the message came
from; never the dead-letter queue (a message of the dead-letter queue with no failed-event
queue known is kept). A failed event with several objects is split that way, so after a replay
the queues hold one record per failing object. `--still-bad archive` appends the records of
objects still bad to a JSON Lines file instead (after every re-queue succeeded, and once per
object, reason and message: a re-run after a failure appends nothing twice), and
`--still-bad drop` only prints them: either brings the queue back to empty. Two messages for
the same object in one run are replayed once and leave at most one record. Messages it does
not understand are left as they were. `--dry-run` only lists what would be replayed, and
changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from aws_lambda_powertools.utilities.data_classes import S3Event
from botocore.exceptions import BotoCoreError, ClientError

from scripts.ops.aws import DeadLetterMailbox, QueueMessage
from scripts.ops.common import (
    CONFIGURATION_HINT,
    FAILED_EVENT_QUEUE_ENV_VAR,
    LOG_DIR,
    add_deployment_arguments,
    function_output_to,
    make_service,
    resolve_deployment,
)
from thumbnailer.errors import SettingsError, TransientError
from thumbnailer.models import SourceObject, Status
from thumbnailer.processing import ThumbnailService
from thumbnailer.provenance import normalise_etag
from thumbnailer.stages.dead_letters import FAILURE_RECORD_SCHEMA
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
REQUEUE, ARCHIVE, DROP = "requeue", "archive", "drop"  # --still-bad
DEFAULT_ARCHIVE = LOG_DIR.parent / "still-bad.jsonl"
#: Skips that mean the object is done with (it is gone); any other skip did not do the work.
DONE_SKIPS = frozenset({"object_missing"})


class NotDoneError(Exception):
    """The replay did not do what the function would have (the object is outside the prefix
    this run was given): the message is kept."""


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
    set_aside: int = 0  # still-bad objects archived or dropped instead of re-queued
    requeued_at_once: int = 0  # fresh records re-queued into a FIFO queue: it takes no delay
    requeued_later: int = 0  # ... into a standard queue, delayed REQUEUE_DELAY_SECONDS
    messages: int = 0  # messages looked at
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
        if self.set_aside:
            lines.append(
                f"  still bad objects archived or dropped, not re-queued: {self.set_aside}"
            )
        when = []
        if self.requeued_at_once:
            when.append(f"{self.requeued_at_once} at once (a FIFO queue)")
        if self.requeued_later:
            when.append(f"{self.requeued_later} in {REQUEUE_DELAY_SECONDS // 60} minutes")
        if when:
            lines.append(
                "  still failing objects were re-queued with their new reason; they show in "
                f"the queue again: {', '.join(when)}"
            )
        if details:
            lines.append(f"  outcomes: {details}")
        if self.duplicates:
            lines.append(f"  duplicate messages removed: {self.duplicates}")
        return lines


class Redrive:
    """Replays one queue after another (`run`); what it learnt about objects carries over.

    Still-failing objects are re-queued to `dead_letters` if they are bad, to `failed_events`
    (when there is one) if the world failed; with `still_bad` ARCHIVE or DROP, the records of
    bad ones are appended to `archive` or only printed.
    """

    def __init__(
        self,
        service: ThumbnailService,
        dead_letters: DeadLetterQueue,
        out: TextIO,
        *,
        failed_events: DeadLetterQueue | None = None,
        dry_run: bool = False,
        still_bad: str = REQUEUE,
        archive: Path = DEFAULT_ARCHIVE,
    ) -> None:
        self._service, self._dead_letters = service, dead_letters
        self._failed_events = failed_events
        self._transient_queue: DeadLetterQueue | None = failed_events
        self._out, self._dry_run = out, dry_run
        self._still_bad, self._archive = still_bad, archive
        self.summary = Summary()
        self._sent: set[str] = set()  # ids of the records this run re-queued
        self._kept: list[QueueMessage] = []  # looked at and left: made visible again at the end
        # (bucket, key, etag) -> None if it is done, else its new failure reason
        self._replayed: dict[tuple[str, str, str], str | None] = {}

    def run(self, mailbox: DeadLetterMailbox, max_messages: int) -> Summary:
        """Replay up to `max_messages` messages of `mailbox`."""
        self._mailbox, self._kept = mailbox, []
        # The world's failures go back to the failed-event queue (it alarms until they are
        # done): without one known, to the queue they came from, unless that is the DLQ.
        self._transient_queue = self._failed_events or (
            None if mailbox.url == self._dead_letters.url else DeadLetterQueue(mailbox.url)
        )
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
            self.summary.messages += len(seen)
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
            try:
                failure = self._replay(source)
            except NotDoneError as exc:
                self._keep(letter, f"the replay did not do the work: {exc}")
                return
            self._replayed[identity] = failure[0] if failure else None
            if failure:
                failures.append((source, *failure))
        records = []
        for source, reason, message, retryable in failures:
            record = self._service.failure_record(
                source, reason=reason, message=message, retryable=retryable
            )
            record["replays"] = letter.replays + 1
            records.append((source, record, retryable))
        try:
            # Every re-queue first, the archive after: a failure to re-queue keeps the
            # message with nothing archived yet (the re-run archives it once).
            for _source, record, retryable in records:
                if retryable or self._still_bad == REQUEUE:
                    self._sent.add(self._requeue(record, retryable))
            for source, record, retryable in records:
                if not retryable and self._still_bad != REQUEUE:
                    self._set_aside(source, record)
        except (TransientError, OSError) as exc:
            self._keep(letter, f"cannot re-queue: {exc}")
            return
        try:
            self._mailbox.delete(letter.message)
        except (ClientError, BotoCoreError) as exc:
            # Visible again at the end of the run, not in VISIBILITY_TIMEOUT_SECONDS: the next
            # run finds it done, or merges it with its re-queued record.
            self._keep(letter, f"cannot delete: {exc}")
            return
        if not new:
            self.summary.duplicates += 1

    def _keep(self, letter: DeadLetter, why: str) -> None:
        self._print("kept", f"message {letter.message.message_id}", why)
        self._kept.append(letter.message)
        self.summary.skipped += 1

    def _requeue(self, record: dict, retryable: bool) -> str:
        queue = self._transient_queue if retryable else self._dead_letters
        if queue is None:
            raise TransientError(
                "no failed-event queue for the world's failure (give --stack-name, or "
                f"{FAILED_EVENT_QUEUE_ENV_VAR}); never the dead-letter queue"
            )
        # A fresh deduplication id (none given): a FIFO queue must not drop the new record as
        # a repeat of the one being replaced, which is deleted next.
        message_id = queue.send(record, delay_seconds=REQUEUE_DELAY_SECONDS)
        if queue.fifo:
            self.summary.requeued_at_once += 1
        else:
            self.summary.requeued_later += 1
        return message_id

    def _set_aside(self, source: SourceObject, record: dict) -> None:
        """--still-bad archive / drop: the record leaves the queue, into a file or nowhere."""
        if self._still_bad == ARCHIVE and _archive_identity(record) not in self._archived():
            self._archive.parent.mkdir(parents=True, exist_ok=True)
            with open(self._archive, "a", encoding="utf-8") as archive:
                archive.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._print(
            "archived" if self._still_bad == ARCHIVE else "dropped",
            _name(source),
            str(self._archive) if self._still_bad == ARCHIVE else "not re-queued",
        )
        self.summary.set_aside += 1

    def _archived(self) -> set[tuple]:
        """What the archive already holds: a re-run after an interruption adds none twice."""
        if not self._archive.exists():
            return set()
        lines = self._archive.read_text(encoding="utf-8").splitlines()
        return {_archive_identity(json.loads(line)) for line in lines if line.strip()}

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
        if outcome.status is Status.SKIPPED and outcome.reason not in DONE_SKIPS:
            self._print("not replayed", _name(source), label)
            raise NotDoneError(label)
        self._print("replayed", _name(source), label)
        self.summary.replayed += 1
        self.summary.outcomes[label] += 1
        return None


def _archive_identity(record: dict) -> tuple:
    """One archived record per object version, reason and message."""
    return tuple(
        record.get(name) for name in ("bucket", "key", "etag", "version_id", "reason", "message")
    )


def _name(source: SourceObject) -> str:
    return f"s3://{source.bucket}/{source.key}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_deployment_arguments(parser)
    parser.add_argument(
        "--queue-url",
        help="replay only this queue (default: the dead-letter queue, then the failed-event queue)",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed")
    parser.add_argument(
        "--max-messages", type=int, default=1000, help="stop after this many (default 1000)"
    )
    parser.add_argument(
        "--still-bad",
        choices=(REQUEUE, ARCHIVE, DROP),
        default=REQUEUE,
        help="objects still bad after the replay: re-queue a fresh record (default), archive "
        "it to --archive, or drop it",
    )
    parser.add_argument(
        "--archive",
        type=Path,
        default=DEFAULT_ARCHIVE,
        help=f"JSON Lines file for --still-bad archive (default {DEFAULT_ARCHIVE})",
    )
    args = parser.parse_args(argv)
    if args.max_messages < 1:
        parser.error("--max-messages must be at least 1")
    try:
        deployment = resolve_deployment(args)
        settings = deployment.settings
        failed_url = deployment.failed_event_queue_url
        queues = [args.queue_url] if args.queue_url else [settings.dlq_url, failed_url]
        queues = [url for url in queues if url]
        print(f"redrive: {', '.join(queues)} (up to {args.max_messages} messages)")
        with function_output_to(LOG_DIR / "redrive.jsonl") as console:
            redrive = Redrive(
                make_service(settings),
                DeadLetterQueue(settings.dlq_url),
                console,
                failed_events=DeadLetterQueue(failed_url) if failed_url else None,
                dry_run=args.dry_run,
                still_bad=args.still_bad,
                archive=args.archive,
            )
            for url in queues:
                left = args.max_messages - redrive.summary.messages
                if left > 0:
                    redrive.run(DeadLetterMailbox(url), left)
    except SettingsError as exc:
        print(f"redrive: {exc}; {CONFIGURATION_HINT}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError, TransientError) as exc:
        print(f"redrive: AWS error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(redrive.summary.lines(args.dry_run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

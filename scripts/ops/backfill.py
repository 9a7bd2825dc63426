"""`make backfill`: make the thumbnails that are missing or out of date, for a whole prefix.

For objects uploaded before the stack existed, or after ThumbnailSizes, WebPQuality or the
renditions (OutputFormats, AvifQuality, CropSizes, WriteManifest, AutoQuality, QualityTarget)
changed.
It lists the input prefix in key order and hands every object to the function's own
`ThumbnailService`, whose one-HeadObject check of the set's marker skips what looks up to date.
A set that looks up to date is then checked file by file (`CompleteSets`): every rendition and
the manifest exist and their metadata records the source's ETag and the settings (widths,
qualities, formats, crops, manifest) that made them. A set missing a file, or holding one made
from another version, is made again. Everything else is made, by several workers at once.

Resumable: after each page of the listing is done, a checkpoint file records its last key, and
a re-run continues after it (`--restart` starts over; a checkpoint made under other settings is
ignored). A page with a transient error is not checkpointed, so a re-run retries it. Bad
objects are counted and listed, not sent to the dead-letter queue: a re-run would add a record
for the same object each time. For millions of objects, prefer S3 Batch Operations
(docs/operations.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from scripts.ops.aws import S3_MAX_PAGE, ListedObject, list_pages
from scripts.ops.common import (
    CONFIGURATION_HINT,
    LOG_DIR,
    add_deployment_arguments,
    function_output_to,
    make_service,
    resolve_deployment,
)
from thumbnailer.errors import SettingsError, TransientError
from thumbnailer.image.renditions import formats_for
from thumbnailer.keys import planned_keys, relative_key
from thumbnailer.models import BACKFILL_EVENT, Outcome, SourceObject, Status
from thumbnailer.processing import ThumbnailService
from thumbnailer.provenance import (
    Provenance,
    key_digest,
    normalise_etag,
    settings_hash,
    signature_of,
)
from thumbnailer.settings import Settings
from thumbnailer.stages.writer import Writer
from thumbnailer.storage import ObjectStore

DEFAULT_CHECKPOINT = Path("out/backfill-checkpoint.json")
SHOWN_FAILURES = 20


@dataclass
class Tally:
    listed: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)  # "key: reason"
    errors: list[str] = field(default_factory=list)  # "key: message"

    def add(self, key: str, outcome: Outcome | Exception) -> None:
        if isinstance(outcome, Exception):
            self.counts["errors"] += 1
            self.errors.append(f"{key}: {outcome}")
        elif outcome.status is Status.REJECTED:
            self.counts["bad"] += 1
            self.bad.append(f"{key}: {outcome.reason}")
        elif outcome.status is Status.WRITTEN:
            self.counts["written"] += 1
        elif outcome.reason == "up_to_date":
            self.counts["up to date"] += 1
        else:
            self.counts["skipped"] += 1

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        names = ("written", "up to date", "bad", "skipped", "errors")
        return f"listed {self.listed}   " + "   ".join(f"{n} {self.counts[n]}" for n in names)


@dataclass
class Checkpoint:
    """The last key of the last finished page, for this bucket, prefix and settings only."""

    path: Path
    scope: dict[str, str]

    def start_after(self, out: TextIO) -> str:
        if not self.path.exists():
            return ""
        saved = json.loads(self.path.read_text(encoding="utf-8"))
        if saved.get("scope") != self.scope:
            print(
                f"checkpoint {self.path} is for other settings or objects; starting over", file=out
            )
            return ""
        print(f"resuming after {saved['after']!r} (checkpoint {self.path})", file=out)
        return str(saved["after"])

    def save(self, after: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"scope": self.scope, "after": after}), encoding="utf-8")
        temporary.replace(self.path)  # atomic: an interruption never leaves half a checkpoint

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class ProgressLine:
    """One self-updating line on a terminal; an occasional plain line elsewhere (CI logs)."""

    def __init__(self, out: TextIO, every_seconds: float = 5.0) -> None:
        self._out, self._every = out, every_seconds
        self._tty = out.isatty()
        self._started = self._last = time.monotonic()

    def show(self, tally: Tally, *, final: bool = False) -> None:
        now = time.monotonic()
        if not (final or self._tty or now - self._last >= self._every):
            return
        self._last = now
        elapsed = now - self._started
        text = f"{tally.line()}   {elapsed:.1f} s ({tally.done / max(elapsed, 1e-9):.1f}/s)"
        if self._tty:
            print("\r\x1b[K" + text, end="\n" if final else "", file=self._out, flush=True)
        else:
            print(text, file=self._out, flush=True)


class CompleteSets:
    """The marker speaks for a set only if nothing happened to the rest: this checks every file
    (one HeadObject each) of the still's set or the animation's, and remakes a set that is not
    whole and current."""

    def __init__(self, settings: Settings, store: ObjectStore | None = None) -> None:
        self._settings = settings
        self._store = store or ObjectStore()
        signature = signature_of(settings)
        self._hash = settings_hash(signature)
        self._writer = Writer(settings, self._store, signature=signature, settings_hash=self._hash)

    def complete(self, source: SourceObject) -> bool:
        """The still's set whole and current; or the animation's (WebP only), and no file of
        a still's other formats beside it (a still that lost one of its AVIFs is not one)."""
        still, animation = (self._keys(source, animated) for animated in (False, True))
        if all(self._current(key, source) for key in still):
            return True
        only_still = [key for key in still if key not in animation]
        return all(self._current(key, source) for key in animation) and not any(
            self._store.head(self._settings.output_bucket, key) for key in only_still
        )

    def _keys(self, source: SourceObject, animated: bool) -> list[str]:
        settings = self._settings
        return planned_keys(
            relative_key(source.key, settings.input_prefix) or "",
            widths=settings.thumb_widths,
            formats=formats_for(settings.output_formats, animated=animated),
            crops=settings.crop_sizes,
            manifest=settings.write_manifest,
        )

    def _current(self, key: str, source: SourceObject) -> bool:
        info = self._store.head(self._settings.output_bucket, key)
        made = Provenance.from_metadata(info.metadata) if info else None
        return (
            made is not None
            and made.key_digest == key_digest(source.key)
            and made.etag == normalise_etag(source.etag)
            and made.settings_hash == self._hash
        )

    def remake(self, source: SourceObject) -> Outcome:
        relative = relative_key(source.key, self._settings.input_prefix) or ""
        return self._writer.write(source, relative)


def backfill(
    service: ThumbnailService,
    bucket: str,
    prefix: str,
    checkpoint: Checkpoint,
    out: TextIO,
    *,
    workers: int = 4,
    page_size: int = S3_MAX_PAGE,
    limit: int | None = None,
    sets: CompleteSets | None = None,
) -> Tally:
    tally = Tally()
    progress = ProgressLine(out)
    checkpointing = True
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        for page in list_pages(
            bucket, prefix, start_after=checkpoint.start_after(out), page_size=page_size
        ):
            if limit is not None:
                page = page[: limit - tally.listed]
            tally.listed += len(page)
            errors_before = len(tally.errors)
            futures = {pool.submit(_process, service, sets, bucket, item): item for item in page}
            for future in as_completed(futures):
                tally.add(futures[future].key, _result(future))
                progress.show(tally)
            # A page with errors is not checkpointed: a re-run retries it (the rest is skipped
            # cheaply as up to date).
            checkpointing = checkpointing and len(tally.errors) == errors_before
            if checkpointing and page:
                checkpoint.save(page[-1].key)
            if limit is not None and tally.listed >= limit:
                break
        else:
            if checkpointing:
                checkpoint.clear()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.show(tally, final=True)
    return tally


def _process(
    service: ThumbnailService, sets: CompleteSets | None, bucket: str, item: ListedObject
) -> Outcome:
    source = SourceObject(
        bucket=bucket, key=item.key, event_name=BACKFILL_EVENT, size=item.size, etag=item.etag
    )
    outcome = service.process(source, report_bad_objects=False)
    if sets and outcome.reason == "up_to_date" and not sets.complete(outcome.source):
        return sets.remake(outcome.source)
    return outcome


def _result(future: Future[Outcome]) -> Outcome | Exception:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - counted and listed; the page is retried next run
        return exc


def print_summary(tally: Tally, out: TextIO) -> None:
    for title, items in (
        ("bad objects (see docs/operations.md; not sent to the dead-letter queue)", tally.bad),
        ("errors (retrying may help: run the backfill again)", tally.errors),
    ):
        if items:
            print(f"{title}:", file=out)
            for item in items[:SHOWN_FAILURES]:
                print(f"  {item}", file=out)
            if len(items) > SHOWN_FAILURES:
                print(f"  ... and {len(items) - SHOWN_FAILURES} more", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_deployment_arguments(parser)
    parser.add_argument("--bucket", help="the input bucket (default: the stack's)")
    parser.add_argument("--workers", type=int, default=4, help="objects at once (default 4)")
    parser.add_argument("--limit", type=int, help="stop after this many objects (resumable)")
    parser.add_argument(
        "--page-size", type=int, default=S3_MAX_PAGE, help="objects per listing page/checkpoint"
    )
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--restart", action="store_true", help="ignore the checkpoint")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.page_size < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--workers, --page-size and --limit must be at least 1")
    try:
        deployment = resolve_deployment(args)
    except SettingsError as exc:
        print(f"backfill: {exc}; {CONFIGURATION_HINT}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:  # no credentials or region, as for redrive
        print(f"backfill: AWS error: {exc}", file=sys.stderr)
        return 1
    bucket = args.bucket or deployment.input_bucket
    if not bucket:
        parser.error("--bucket is required without --stack-name")
    settings = deployment.settings
    signature = signature_of(settings)
    checkpoint = Checkpoint(
        args.checkpoint, {"bucket": bucket, "prefix": settings.input_prefix, "settings": signature}
    )
    if args.restart:
        checkpoint.clear()
    print(
        f"backfill: s3://{bucket}/{settings.input_prefix} -> s3://{settings.output_bucket}/ "
        f"({signature}), {args.workers} workers"
    )
    started = time.monotonic()
    try:
        with function_output_to(LOG_DIR / "backfill.jsonl") as console:
            tally = backfill(
                make_service(settings),
                bucket,
                settings.input_prefix,
                checkpoint,
                console,
                workers=args.workers,
                page_size=args.page_size,
                limit=args.limit,
                sets=CompleteSets(settings),
            )
    except KeyboardInterrupt:
        print(f"\ninterrupted: run it again to resume (checkpoint {args.checkpoint})")
        return 130
    except (ClientError, BotoCoreError, TransientError) as exc:
        print(f"backfill: AWS error: {exc}", file=sys.stderr)
        return 1
    print_summary(tally, sys.stdout)
    print(f"done in {time.monotonic() - started:.1f} s")
    if args.checkpoint.exists():
        print(f"checkpoint kept: {args.checkpoint} (a re-run resumes there)")
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())

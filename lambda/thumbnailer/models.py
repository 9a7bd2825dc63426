"""What the pipeline passes around: the source object of an event, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.s3_batch_operation_event import (
        S3BatchOperationTask,
    )
    from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

#: Event names for work that no S3 notification started. They begin with "ObjectCreated:" because
#: they ask for the same thing: make the object's thumbnails.
BATCH_OPERATIONS_EVENT = "ObjectCreated:BatchOperations"
BACKFILL_EVENT = "ObjectCreated:Backfill"
#: Make the set again even if its provenance says it is up to date (docs/operations.md, "Forcing
#: a remake"): after a change the signature does not record, such as a fixed bug in a library.
REMAKE_EVENT = "ObjectCreated:Remake"


@dataclass(frozen=True)
class SourceObject:
    """One object named by an S3 event record. `key` is URL-decoded (`+` is a space)."""

    bucket: str
    key: str
    event_name: str = "ObjectCreated:Put"
    size: int | None = None
    etag: str = ""
    version_id: str | None = None
    sequencer: str = ""
    event_time: str = ""
    s3_request_id: str = ""

    @classmethod
    def from_s3_record(cls, record: S3EventRecord) -> SourceObject:
        s3_object = record.s3.get_object
        return cls(
            bucket=record.s3.bucket.name,
            # The event carries the key URL-encoded; S3 itself knows it decoded.
            key=unquote_plus(s3_object.key),
            event_name=record.event_name,
            size=s3_object.get("size"),
            etag=s3_object.etag,
            version_id=s3_object.version_id,
            sequencer=s3_object.get("sequencer", ""),
            event_time=record.get("eventTime", ""),
            # Not every producer fills these in (replays, emulators): absent is not an error.
            s3_request_id=(record.get("responseElements") or {}).get("x-amz-request-id", ""),
        )

    @classmethod
    def from_batch_task(cls, task: S3BatchOperationTask) -> SourceObject:
        """A task of S3 Batch Operations (schema 1.0 or 2.0): bucket, key and maybe a version."""
        return cls(
            bucket=task.s3_bucket,
            # URL-encoded, as in a manifest (AWS's own examples decode it with unquote_plus).
            key=task.s3_key,
            event_name=BATCH_OPERATIONS_EVENT,
            version_id=task.s3_version_id,
        )


class Status(StrEnum):
    WRITTEN = "written"  # every thumbnail is in the output bucket
    REJECTED = "rejected"  # the object is bad; one record went to the dead-letter queue
    SKIPPED = "skipped"  # nothing to do, and worth a warning (object gone, outside the prefix)
    IGNORED = "ignored"  # nothing to do, by design (folder markers, duplicates, stale events)
    DELETED = "deleted"  # the source is gone, and so are its thumbnails


@dataclass(frozen=True)
class Outcome:
    """What processing one source object came to."""

    source: SourceObject
    status: Status
    reason: str = ""
    message: str = ""
    thumbnails: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> pixel size
    manifest: str = ""  # the manifest's key, if one was written (WRITE_MANIFEST)
    deleted: tuple[str, ...] = ()  # thumbnail keys removed because their source was deleted
    bytes_in: int = 0
    bytes_out: int = 0
    duration_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        result = {
            "key": self.source.key,
            "status": self.status.value,
            "reason": self.reason,
            "thumbnails": {key: list(size) for key, size in self.thumbnails.items()},
        }
        if self.manifest:
            result["manifest"] = self.manifest
        if self.status is Status.DELETED:
            result["deleted"] = list(self.deleted)
        return result

"""What the pipeline tells subscribers after each upload: a small JSON message per outcome.

One topic carries every kind; the message attribute `outcome` (`success`, `failure`, or
`deleted` when SyncDeletes removed an original's thumbnails) lets each subscription filter on
it, so an e-mail can get only the failures and a webhook everything (say, to invalidate a CDN).
Duplicates, stale events and anything else that changed nothing are not announced.
Sending is storage's job (`NotificationTopic`); this module only decides what to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thumbnailer.models import Outcome, Status

NOTIFICATION_SCHEMA = "serverless-image-pipeline/notification/v1"


@dataclass(frozen=True)
class Notification:
    outcome: str  # "success" | "failure" | "deleted": the attribute subscriptions filter on
    subject: str  # e-mail subscribers see it; ASCII and short, as SNS requires
    message: dict[str, Any]


def notification_for(outcome: Outcome, output_bucket: str) -> Notification | None:
    """The message for a written, rejected or deleted upload; None if nothing happened."""
    source = outcome.source
    common = {
        "schema": NOTIFICATION_SCHEMA,
        "source": {
            "bucket": source.bucket,
            "key": source.key,
            "version_id": source.version_id,
            "etag": source.etag,
            "size": source.size,
        },
        "event_time": source.event_time,
    }
    if outcome.status is Status.WRITTEN:
        thumbnails = [
            {"bucket": output_bucket, "key": key, "width": width, "height": height}
            for key, (width, height) in sorted(
                outcome.thumbnails.items(), key=lambda item: (item[1], item[0])
            )
        ]
        message = {
            **common,
            "outcome": "success",
            "thumbnails": thumbnails,
            "bytes_in": outcome.bytes_in,
            "bytes_out": outcome.bytes_out,
        }
        if outcome.manifest:
            message["manifest"] = {"bucket": output_bucket, "key": outcome.manifest}
        return Notification("success", f"Thumbnails ready ({len(thumbnails)})", message)
    if outcome.status is Status.REJECTED:
        message = {
            **common,
            "outcome": "failure",
            "reason": outcome.reason,
            "message": outcome.message,
            "retryable": False,
        }
        return Notification("failure", f"Upload rejected: {outcome.reason}", message)
    if outcome.status is Status.DELETED:
        deleted = [{"bucket": output_bucket, "key": key} for key in sorted(outcome.deleted)]
        message = {**common, "outcome": "deleted", "thumbnails": deleted}
        return Notification("deleted", f"Thumbnails deleted ({len(deleted)})", message)
    return None

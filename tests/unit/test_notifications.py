"""The notification each upload produces: its shape is a public contract for subscribers."""

import json

from thumbnailer.models import Outcome, SourceObject, Status
from thumbnailer.notifications import NOTIFICATION_SCHEMA, notification_for

SOURCE = SourceObject(
    bucket="uploads-in",
    key="uploads/My Photos/été.jpg",
    size=48213,
    etag="d41d8cd98f00b204e9800998ecf8427e",
    version_id="v1",
    event_time="2026-11-22T10:15:30.123Z",
)
SOURCE_PART = {
    "bucket": "uploads-in",
    "key": "uploads/My Photos/été.jpg",
    "version_id": "v1",
    "etag": "d41d8cd98f00b204e9800998ecf8427e",
    "size": 48213,
}


def test_a_written_upload_is_announced_with_its_thumbnails_sizes_and_bytes():
    # GIVEN an upload whose two thumbnails were written
    outcome = Outcome(
        SOURCE,
        Status.WRITTEN,
        thumbnails={"My Photos/été_512w.webp": (512, 341), "My Photos/été_128w.webp": (128, 85)},
        bytes_in=48213,
        bytes_out=9100,
    )

    # WHEN its notification is made
    notification = notification_for(outcome, "thumbs-out")

    # THEN it is a success, in the documented shape, smallest thumbnail first, JSON-ready
    assert notification.outcome == "success"
    assert notification.message == {
        "schema": NOTIFICATION_SCHEMA,
        "outcome": "success",
        "source": SOURCE_PART,
        "event_time": "2026-11-22T10:15:30.123Z",
        "thumbnails": [
            {"bucket": "thumbs-out", "key": "My Photos/été_128w.webp", "width": 128, "height": 85},
            {"bucket": "thumbs-out", "key": "My Photos/été_512w.webp", "width": 512, "height": 341},
        ],
        "bytes_in": 48213,
        "bytes_out": 9100,
    }
    assert json.loads(json.dumps(notification.message)) == notification.message
    # AND its e-mail subject is short ASCII, as SNS requires
    assert notification.subject.isascii()
    assert len(notification.subject) < 100


def test_a_rejected_upload_is_announced_as_a_failure_with_its_reason():
    # GIVEN an upload refused as corrupt
    outcome = Outcome(SOURCE, Status.REJECTED, reason="corrupt_image", message="bad header")

    # WHEN its notification is made
    notification = notification_for(outcome, "thumbs-out")

    # THEN it is a failure that says why, with no thumbnails
    assert notification.outcome == "failure"
    assert notification.message == {
        "schema": NOTIFICATION_SCHEMA,
        "outcome": "failure",
        "source": SOURCE_PART,
        "event_time": "2026-11-22T10:15:30.123Z",
        "reason": "corrupt_image",
        "message": "bad header",
        "retryable": False,
    }
    assert "corrupt_image" in notification.subject
    assert notification.subject.isascii()


def test_nothing_is_announced_when_nothing_happened():
    # GIVEN skipped and ignored objects (deleted before processing, folder markers)
    skipped = Outcome(SOURCE, Status.SKIPPED, reason="object_missing")
    ignored = Outcome(SOURCE, Status.IGNORED, reason="folder_marker")
    # WHEN / THEN there is no notification
    assert notification_for(skipped, "thumbs-out") is None
    assert notification_for(ignored, "thumbs-out") is None


def test_a_deleted_upload_is_announced_with_the_thumbnails_that_went():
    # GIVEN SyncDeletes removed an original's two thumbnails
    outcome = Outcome(
        SOURCE,
        Status.DELETED,
        deleted=("My Photos/été_512w.webp", "My Photos/été_128w.webp"),
    )

    # WHEN its notification is made
    notification = notification_for(outcome, "thumbs-out")

    # THEN it is a "deleted" message (its own attribute value) naming each deleted thumbnail
    assert notification.outcome == "deleted"
    assert notification.message == {
        "schema": NOTIFICATION_SCHEMA,
        "outcome": "deleted",
        "source": SOURCE_PART,
        "event_time": "2026-11-22T10:15:30.123Z",
        "thumbnails": [
            {"bucket": "thumbs-out", "key": "My Photos/été_128w.webp"},
            {"bucket": "thumbs-out", "key": "My Photos/été_512w.webp"},
        ],
    }
    assert notification.subject == "Thumbnails deleted (2)"

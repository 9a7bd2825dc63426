"""What happened to each object, published on the notification topic when there is one
(notifications.py decides what to say; storage.NotificationTopic sends it)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from thumbnailer.errors import TransientError
from thumbnailer.models import Outcome
from thumbnailer.notifications import notification_for
from thumbnailer.observability import logger, metrics
from thumbnailer.storage import NotificationTopic


class Announcer:
    """Publishes outcomes on the topic; with no topic, says nothing."""

    def __init__(self, topic: NotificationTopic | None, output_bucket: str) -> None:
        self._topic = topic
        self._output_bucket = output_bucket

    def notify(self, outcome: Outcome) -> None:
        """Publish the outcome's notification, if the outcome says anything. Raises
        `TransientError` if publishing fails."""
        if self._topic is None:
            return
        notification = notification_for(outcome, self._output_bucket)
        if notification is not None:
            self._topic.publish(
                notification.message, outcome=notification.outcome, subject=notification.subject
            )

    def announce(self, outcome: Outcome) -> None:
        """`notify` for work that is done (written, deleted): a failed publish is only counted.

        Raising would not bring the message back: the retry finds the thumbnails up to date (or
        already gone) and, duplicates doing no work twice, has nothing left to announce.
        """
        try:
            self.notify(outcome)
        except TransientError:
            logger.exception("the notification could not be published; the work itself is done")
            metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)

"""Shared fixtures. The environment is set here, before any test imports the handler."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from thumbnailer.settings import (
    DEFAULT_AVIF_QUALITY,
    DEFAULT_CACHE_CONTROL,
    DEFAULT_MAX_FRAMES,
)

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "OUTPUT_BUCKET": "thumbs-out",
    "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/thumbs-dlq",
    "THUMB_SIZES": "128,512",
    "WEBP_QUALITY": "85",
    "INPUT_PREFIX": "uploads/",
    # The rest of the function's environment, as the template sets it (the operations scripts
    # refuse a shell without every variable): the defaults.
    "MAX_INPUT_PIXELS": "0",
    "MAX_ANIMATION_FRAMES": str(DEFAULT_MAX_FRAMES),
    "NOTIFICATION_TOPIC_ARN": "",
    "CACHE_CONTROL": DEFAULT_CACHE_CONTROL,
    "OUTPUT_FORMATS": "webp",
    "AVIF_QUALITY": str(DEFAULT_AVIF_QUALITY),
    "CROP_SIZES": "",
    "WRITE_MANIFEST": "false",
    "AUTO_QUALITY": "false",
    "QUALITY_TARGET": "75",
    "TRACING": "xray",
    "POWERTOOLS_SERVICE_NAME": "thumbnailer",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessImagePipeline",
}
# Tests never reach a real account or a stray local endpoint.
for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS"):
    os.environ.pop(name, None)
os.environ.update(TEST_ENV)

INPUT_BUCKET = "uploads-in"


@dataclass
class FakeLambdaContext:
    function_name: str = "ThumbnailFunction"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ThumbnailFunction"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    """Clients and the service are cached per process; each test gets new ones (and new mocks)."""
    from thumbnailer.storage import aws_client

    aws_client.cache_clear()
    yield
    aws_client.cache_clear()

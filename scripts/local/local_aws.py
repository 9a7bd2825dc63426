"""`make local-aws`: the local AWS that `sam local invoke --env-vars events/env.json` talks to.

Starts moto's server on the port events/env.json names, creates the stack's resources with the
names it names (the input bucket of events/*.json, the output bucket, the DLQ), puts an object
at every key the event files name, and keeps running until Ctrl-C, which stops it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from scripts.local.pipeline import raise_interrupt_on_sigterm
from scripts.local.resources import LocalStack
from scripts.local.server import LocalAws
from scripts.support.sample_images import demo_set, encode, photo

EVENTS = Path(__file__).resolve().parents[2] / "events"
ENV_FILE = EVENTS / "env.json"
FUNCTION = "ThumbnailFunction"


def function_env(env_file: Path = ENV_FILE) -> dict[str, str]:
    """The variables `sam local invoke --env-vars` gives the function."""
    return json.loads(env_file.read_text())[FUNCTION]


def event_files(events: Path = EVENTS) -> list[Path]:
    return sorted(path for path in events.glob("*.json") if path.name != ENV_FILE.name)


def objects_named_by(paths: list[Path], input_prefix: str) -> dict[tuple[str, str], bytes]:
    """(bucket, key) -> bytes for every object the event files name (S3 notification records,
    also inside SQS batch bodies, and Batch Operations tasks): the demo's sample of that name if
    there is one (the broken one included), else a photo."""
    samples = demo_set()
    objects: dict[tuple[str, str], bytes] = {}
    for path in paths:
        for bucket, encoded_key in _named_objects(json.loads(path.read_text())):
            key = unquote_plus(encoded_key)  # both kinds of event carry it URL-encoded
            sample = samples.get(key.removeprefix(input_prefix))
            # Seeded by the key, so each object's bytes (and ETag) never depend on the others.
            objects[(bucket, key)] = sample or encode(
                photo(1200, 800, seed=zlib.crc32(key.encode())), "JPEG", quality=88
            )
    return objects


def _named_objects(event: dict[str, Any]) -> list[tuple[str, str]]:
    records = [
        (record["s3"]["bucket"]["name"], record["s3"]["object"]["key"])
        for record in event.get("Records", [])
        if "s3" in record
    ]
    queued = [  # IngestMode=queue: each message's body is an S3 notification (or test event)
        named
        for record in event.get("Records", [])
        if record.get("eventSource") == "aws:sqs"
        for named in _named_objects(json.loads(record["body"]))
    ]
    tasks = [
        (task.get("s3Bucket") or task["s3BucketArn"].split(":::", 1)[1], task["s3Key"])
        for task in event.get("tasks", [])
    ]
    return records + queued + tasks


def create(aws: LocalAws, env: dict[str, str], paths: list[Path]) -> LocalStack:
    """The resources and objects the event files and env.json refer to, in `aws`."""
    objects = objects_named_by(paths, env["INPUT_PREFIX"])
    (input_bucket,) = {bucket for bucket, _ in objects}
    stack = LocalStack(
        aws,
        input_bucket=input_bucket,
        output_bucket=env["OUTPUT_BUCKET"],
        dlq_name=env["DLQ_URL"].rstrip("/").rsplit("/", 1)[-1],
    ).create()
    s3 = aws.client("s3")
    for (bucket, key), data in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    return stack


def main(argv: list[str] | None = None) -> int:
    env = function_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (Docker on Linux: the docker0 address, e.g. 172.17.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=urlsplit(env["AWS_ENDPOINT_URL"]).port,
        help="port to listen on (default: the one events/env.json names)",
    )
    args = parser.parse_args(argv)

    raise_interrupt_on_sigterm()
    try:
        with LocalAws(host=args.host, port=args.port, inherit_output=True) as aws:
            stack = create(aws, env, event_files())
            print(
                f"\nlocal AWS (moto) on {aws.endpoint}: buckets {stack.input_bucket} (with the "
                f"objects events/*.json name) and {stack.output_bucket}, queue "
                f"{stack.dlq_name}.\nIn another terminal:\n"
                f"  make build   (sam build, with the project's SAM CLI)\n"
                f"  sam local invoke {FUNCTION} -e events/s3-put.json --env-vars events/env.json\n"
                f"  AWS_ENDPOINT_URL={aws.endpoint} aws s3 ls s3://{stack.output_bucket} "
                f"--recursive\nCtrl-C stops it.",
                flush=True,
            )
            while aws.running:  # until Ctrl-C, or until the server dies
                time.sleep(0.5)
            print("moto's server stopped unexpectedly", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(main())

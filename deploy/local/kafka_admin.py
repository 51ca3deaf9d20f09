"""Kafka admin for the local stack: wait for the broker, create Ferry's topics.

    kafka_admin.py wait --bootstrap 127.0.0.1:9092 [--timeout 90]
    kafka_admin.py create-topics --bootstrap 127.0.0.1:9092 [--topics a,b] [--prefix P]

Exit status: 0 on success, 1 on failure (message on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiokafka.errors import KafkaError

from ferry.kafka import INBOUND_TOPICS, SERVICE_TOPICS
from ferry.kafka_admin import TopicSetupError, ensure_topics, wait_ready


def _err(msg: str) -> None:
    print(f"[ferry kafka_admin] {msg}", file=sys.stderr)


async def create_topics(bootstrap: str, names: list[str]) -> None:
    for name in await ensure_topics(bootstrap, names):
        _err(f"created {name}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_wait = sub.add_parser("wait", help="wait until the broker answers a metadata request")
    p_wait.add_argument("--bootstrap", required=True)
    p_wait.add_argument("--timeout", type=float, default=90.0, help="seconds (default 90)")
    p_create = sub.add_parser("create-topics", help="create the Ferry topics idempotently")
    p_create.add_argument("--bootstrap", required=True)
    p_create.add_argument("--topics", help="comma-separated names (default: the Ferry topics)")
    p_create.add_argument("--prefix", default="", help="prefix for every topic name")
    args = parser.parse_args()

    # aiokafka logs every refused connection at ERROR; the exit status says enough.
    logging.basicConfig(level=logging.CRITICAL)

    if args.cmd == "wait":
        if asyncio.run(wait_ready(args.bootstrap, args.timeout)):
            return 0
        _err(f"no broker answered at {args.bootstrap} within {args.timeout:g}s")
        return 1

    names = (
        [t.strip() for t in args.topics.split(",") if t.strip()]
        if args.topics
        else [*SERVICE_TOPICS, *INBOUND_TOPICS]
    )
    if not names:
        parser.error("--topics is empty")
    try:
        asyncio.run(create_topics(args.bootstrap, [args.prefix + n for n in names]))
    except TopicSetupError as e:
        _err(str(e))
        return 1
    except KafkaError as e:
        _err(f"cannot reach Kafka at {args.bootstrap}: {e!r}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

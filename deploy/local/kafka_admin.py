"""Kafka administration for the local stack, as the broker's administrator.

    kafka_admin.py tls --dir TLS_DIR
    kafka_admin.py wait [--timeout 90] [--brokers N]
    kafka_admin.py create-topics [--topics a,b] [--prefix P] [--replication R --min-insync M]
    kafka_admin.py access --users-dir DIR [--prefix P]

`tls` makes the development CA and the broker's and administrator's certificates (on first
use). The others connect as the administrator that FERRY_KAFKA_* describe (kafka.sh sets
them: mutual TLS with the `ferry-admin` certificate). `access` gives every Ferry principal
(ferry.kafka_acls) a password, kept in DIR, and exactly its ACLs.

Exit status: 0 on success, 1 on failure (message on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from ferry.devtls import DevCA
from ferry.kafka import INBOUND_TOPICS, SERVICE_TOPICS
from ferry.kafka_access import AccessSetupError, grant, local_passwords, set_passwords
from ferry.kafka_acls import ferry_specs, users
from ferry.kafka_admin import TopicSetupError, ensure_topics, wait_ready
from ferry.kafka_client import KafkaSettings

ADMIN = "ferry-admin"
BROKER = "ferry-broker"


def _err(msg: str) -> None:
    print(f"[ferry kafka_admin] {msg}", file=sys.stderr)


async def create_topics(
    admin: KafkaSettings, names: list[str], replication: int, min_insync: int
) -> None:
    for name in await ensure_topics(admin, names, replication=replication, min_insync=min_insync):
        _err(f"created {name}")


async def give_access(admin: KafkaSettings, users_dir: Path, prefix: str) -> None:
    principals = users(ferry_specs(), prefix)
    # The administrator gets a password too: tools and tests reach the SASL listener as it.
    await set_passwords(admin, local_passwords(users_dir, [ADMIN, *(u.name for u in principals)]))
    await grant(admin, principals)
    _err(f"users and ACLs set for {', '.join(u.name for u in principals)}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_tls = sub.add_parser("tls", help="make the CA and certificates (on first use)")
    p_tls.add_argument("--dir", required=True, type=Path)
    p_wait = sub.add_parser("wait", help="wait until the broker answers a metadata request")
    p_wait.add_argument("--timeout", type=float, default=90.0, help="seconds (default 90)")
    p_wait.add_argument("--brokers", type=int, default=1, help="how many to wait for")
    p_create = sub.add_parser("create-topics", help="create the Ferry topics idempotently")
    p_create.add_argument("--topics", help="comma-separated names (default: the Ferry topics)")
    p_create.add_argument("--prefix", default="", help="prefix for every topic name")
    p_create.add_argument("--replication", type=int, default=1, help="replicas per partition")
    p_create.add_argument(
        "--min-insync", type=int, default=1, help="replicas a write must reach (default 1)"
    )
    p_access = sub.add_parser("access", help="Ferry's users and their ACLs")
    p_access.add_argument("--users-dir", required=True, type=Path)
    p_access.add_argument("--prefix", default="", help="prefix for every topic and group")
    args = parser.parse_args()

    if args.cmd == "tls":
        ca = DevCA(args.dir)
        ca.broker_keystore(BROKER)
        ca.client(ADMIN)
        return 0

    # aiokafka logs every refused connection at ERROR; the exit status says enough.
    logging.basicConfig(level=logging.CRITICAL)
    try:
        admin = KafkaSettings()
    except ValidationError as e:
        _err(f"FERRY_KAFKA_* do not describe the administrator: {e}")
        return 1

    if args.cmd == "wait":
        if asyncio.run(wait_ready(admin, args.timeout, args.brokers)):
            return 0
        _err(
            f"{args.brokers} broker(s) did not answer at {admin.kafka_bootstrap_servers} "
            f"within {args.timeout:g}s"
        )
        return 1

    try:
        if args.cmd == "access":
            asyncio.run(give_access(admin, args.users_dir, args.prefix))
            return 0
        names = (
            [t.strip() for t in args.topics.split(",") if t.strip()]
            if args.topics
            else [*SERVICE_TOPICS, *INBOUND_TOPICS]
        )
        if not names:
            parser.error("--topics is empty")
        asyncio.run(
            create_topics(
                admin, [args.prefix + n for n in names], args.replication, args.min_insync
            )
        )
    except (TopicSetupError, AccessSetupError) as e:
        _err(str(e))
        return 1
    except KafkaError as e:
        _err(f"cannot reach Kafka at {admin.kafka_bootstrap_servers}: {e!r}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

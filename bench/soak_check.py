"""What the soak checks once its workload has stopped and the relays have drained:

- each service's store against its topic: every stored event on `<service>.events`
  exactly once, read from the beginning as `ferry audit` reads it, committed records only
  (what the relay's transactional producer aborted is not there), none there that the
  store lacks;
- every acknowledged command's events in its service's store;
- release-svc's read models equal to their rebuild from its events (the rebuild runs in a
  transaction that is rolled back: the running service is left as it was);
- `ferry audit verify`, with every service's trusted key.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from bench.common import BenchError, progress
from bench.soak_record import Ack
from bench.soak_stack import SERVICES, Stack
from ferry.audit.topics import read_topics
from ferry.db import Database
from ferry.kafka_client import KafkaSettings
from release_svc.projections.releases import rebuild

READ_MODELS = ("release_list", "release_dependencies", "deployment_windows", "freeze_periods")
"""The tables `release_svc.projections.releases.rebuild` recreates."""
DRAIN_SECONDS = 300.0


@dataclass
class Check:
    """One line of the report: what was checked, what was found, whether it passed."""

    name: str
    found: str
    passed: bool
    detail: list[str] = field(default_factory=list)


def raw_url() -> str:
    return os.environ["FERRY_DATABASE_URL"].replace("+asyncpg", "", 1)


async def drained() -> float:
    """Wait until no service's outbox holds an event; the seconds it took."""
    started = time.monotonic()
    conn = await asyncpg.connect(raw_url())
    try:
        while True:
            left = {s: await conn.fetchval(f'SELECT count(*) FROM "{s}".outbox') for s in SERVICES}
            if not any(left.values()):
                return time.monotonic() - started
            if time.monotonic() - started > DRAIN_SECONDS:
                raise BenchError(
                    f"the outboxes still hold events after {DRAIN_SECONDS:g} s: {left}"
                )
            await asyncio.sleep(1)
    finally:
        await conn.close()


async def stored() -> dict[str, dict[str, tuple[str, int]]]:
    """Per service, every stored event: id → (stream, version)."""
    conn = await asyncpg.connect(raw_url())
    try:
        found = {}
        for service in SERVICES:
            rows = await conn.fetch(
                f'SELECT event_id, stream_id, stream_version FROM "{service}".events'
            )
            found[service] = {
                str(r["event_id"]): (r["stream_id"], r["stream_version"]) for r in rows
            }
        return found
    finally:
        await conn.close()


async def media_streams() -> dict[str, str]:
    """dml-svc's media streams by "media:<name>/<version>" (no response names a media id)."""
    conn = await asyncpg.connect(raw_url())
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT stream_id, data->>'name' AS name, data->>'version' AS version "
            "FROM dml.events WHERE stream_id LIKE 'media-%' AND stream_version = 1"
        )
    finally:
        await conn.close()
    return {f"media:{r['name']}/{r['version']}": r["stream_id"] for r in rows}


async def topic_ids(kafka: KafkaSettings, topic: str) -> Counter[str]:
    """How often each event id is on `topic`, from its beginning to its end now, as a
    read_committed consumer sees it (`ferry.audit.topics`, as `ferry audit` reads)."""
    found = (await read_topics(kafka, [topic]))[topic]
    if not found.exists or found.unreadable:
        raise BenchError(f"{topic}: exists {found.exists}, unreadable {found.unreadable[:3]}")
    return Counter(str(record.envelope.id) for record in found.records)


async def store_and_topics(kafka: KafkaSettings) -> list[Check]:
    """Every stored event on its topic exactly once, and none there that no store holds.
    The store is read first: whatever a job appends meanwhile is then only on the topic,
    so the topic's events are compared with a second reading of the store."""
    before = await stored()
    await drained()
    checks = []
    for service in SERVICES:
        reading = time.monotonic()
        on_topic = await topic_ids(kafka, f"{service}.events")
        read_in = time.monotonic() - reading
        after = (await stored())[service]
        missing = [i for i in before[service] if i not in on_topic]
        twice = [i for i, n in on_topic.items() if n > 1]
        unknown = [i for i in on_topic if i not in after]
        ok = not (missing or twice or unknown)
        found = (
            f"{len(before[service]):,} stored, {sum(on_topic.values()):,} on the topic; "
            f"{len(missing)} missing, {len(twice)} duplicated, {len(unknown)} not in the store "
            f"(the topic read in {read_in:.1f} s)"
        )
        detail = [f"missing {i} {before[service][i]}" for i in missing[:10]]
        detail += [f"{on_topic[i]} times: {i}" for i in twice[:10]]
        detail += [f"on the topic only: {i}" for i in unknown[:10]]
        checks.append(Check(f"{service}.events = {service} store, once", found, ok, detail))
    return checks


async def acknowledged(acks: list[Ack]) -> Check:
    """Each acknowledged command's events at the stream and version its answer named."""
    events = await stored()
    media = await media_streams()
    by_suffix: dict[tuple[str, str], set[int]] = {}
    for service, rows in events.items():
        for stream, version in rows.values():
            # Streams are `<prefix>-<aggregate id>`, and prefixes may hold a '-' themselves.
            for cut in (i for i, c in enumerate(stream) if c == "-"):
                by_suffix.setdefault((service, stream[cut + 1 :]), set()).add(version)
    lost = []
    for ack in acks:
        key = ack.stream
        if key.startswith("media:"):
            key = media.get(key, key).split("-", 1)[-1]
        if ack.version not in by_suffix.get((ack.service, key), set()):
            lost.append(f"{ack.service}: {ack.route} {ack.stream} version {ack.version}")
    found = f"{len(acks):,} acknowledged, {len(lost)} not in their store"
    return Check("acknowledged commands in the store", found, not lost, lost[:20])


async def read_models(stack: Stack) -> Check:
    """release-svc's read models before and after their rebuild from the events, in one
    transaction that is rolled back."""
    db = Database(os.environ["FERRY_DATABASE_URL"], "release", "soak-check")
    try:
        async with db.unit_of_work() as uow:
            await uow.begin()
            before = {t: await _rows(uow, t) for t in READ_MODELS}
            releases = await rebuild(uow)
            after = {t: await _rows(uow, t) for t in READ_MODELS}
            # Leaving without commit rolls the rebuild back.
    finally:
        await db.dispose()
    differ = []
    for table in READ_MODELS:
        gone = before[table] - after[table]
        new = after[table] - before[table]
        differ += [f"{table}: only before: {row[:300]}" for row in sorted(gone)[:5]]
        differ += [f"{table}: only rebuilt: {row[:300]}" for row in sorted(new)[:5]]
    sizes = ", ".join(f"{t} {len(before[t]):,}" for t in READ_MODELS)
    found = f"{releases:,} releases rebuilt; rows: {sizes}; {len(differ)} differing"
    return Check("release-svc read models = their rebuild", found, not differ, differ)


async def _rows(uow: Any, table: str) -> set[str]:
    rows = await uow.fetch(f'SELECT to_jsonb(t) AS row FROM "{uow.schema}".{table} t')
    return {orjson.dumps(r["row"], option=orjson.OPT_SORT_KEYS).decode() for r in rows}


async def audit(stack: Stack) -> Check:
    """`ferry audit verify --json`, as its administrator, trusting every service's key."""
    env = {
        **os.environ,
        "FERRY_EVENT_TRUSTED_KEYS": stack.services["release"].env["FERRY_EVENT_TRUSTED_KEYS"],
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ferry", "audit", "verify", "--json"],
        env=env,
        capture_output=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return Check("ferry audit verify", f"exit {done.returncode}", False, [done.stderr.decode()])
    events = sum(c["events"] for c in report.get("checked", []) if c["where"] == "store")
    problems = [json.dumps(p) for p in report.get("problems", [])]
    ok = done.returncode == 0 and report.get("ok") is True
    found = f"exit {done.returncode}; {events:,} stored events verified; {len(problems)} problems"
    return Check("ferry audit verify", found, ok, problems[:20])


async def check_all(stack: Stack, acks: list[Ack], kafka: KafkaSettings) -> list[Check]:
    progress("soak: checking the stores against the topics")
    checks = await store_and_topics(kafka)
    progress("soak: checking the acknowledged commands, the read models and the audit")
    checks.append(await acknowledged(acks))
    checks.append(await read_models(stack))
    checks.append(await audit(stack))
    return checks

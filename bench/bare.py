"""The `api` section's baseline: a bare FastAPI app on asyncpg, with nothing of Ferry's.

Started by `bench.api` as its own process, as a service would be (uvicorn with uvloop and
httptools, one worker, no access log):

    BENCH_BARE_DSN=postgresql://... BENCH_BARE_SCHEMA=... \\
        python -m uvicorn bench.bare:app --loop uvloop --http httptools --no-access-log

`POST|PUT /rows` inserts one JSONB row (a JSON body as it is; any other body as its size),
`GET /rows/{id}` selects one, `GET /rows?limit=50` a page in insertion order, `GET /healthz`
does nothing. The table is the benchmark's to create and seed (`create_table`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
from fastapi import FastAPI, HTTPException, Request

POOL_SIZE = 10
"""As Ferry's services' `FERRY_DB_POOL_SIZE` default."""


def create_table(schema: str) -> str:
    """The SQL that makes the table the app reads and writes."""
    return (
        f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".rows ('
        "seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "id uuid NOT NULL UNIQUE, data jsonb NOT NULL)"
    )


async def _codecs(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    dsn, schema = os.environ["BENCH_BARE_DSN"], os.environ["BENCH_BARE_SCHEMA"]
    table = f'"{schema}".rows'
    app.state.insert = f"INSERT INTO {table} (id, data) VALUES ($1, $2)"
    app.state.select_one = f"SELECT data FROM {table} WHERE id = $1"
    app.state.select_page = f"SELECT id, data FROM {table} ORDER BY seq LIMIT $1"
    async with asyncpg.create_pool(
        dsn, min_size=POOL_SIZE, max_size=POOL_SIZE, init=_codecs
    ) as pool:
        app.state.pool = pool
        yield


app = FastAPI(lifespan=_lifespan)


@app.post("/rows", status_code=201)
@app.put("/rows", status_code=201)
async def insert(request: Request) -> dict[str, str]:
    body = await request.body()
    is_json = request.headers.get("content-type") == "application/json"
    data = orjson.loads(body) if is_json else {"bytes": len(body)}
    row_id = uuid4()
    await request.app.state.pool.execute(request.app.state.insert, row_id, data)
    return {"id": str(row_id)}


@app.get("/rows/{row_id}")
async def select_one(row_id: UUID, request: Request) -> Any:
    data = await request.app.state.pool.fetchval(request.app.state.select_one, row_id)
    if data is None:
        raise HTTPException(404)
    return data


@app.get("/rows")
async def select_page(request: Request, limit: int = 50) -> dict[str, Any]:
    rows = await request.app.state.pool.fetch(request.app.state.select_page, limit)
    return {"items": [{"id": str(row["id"]), **row["data"]} for row in rows]}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}

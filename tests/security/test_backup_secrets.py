"""The backup scripts keep the database password off the command line (#19).

Attack: while a backup or restore runs, any user of the machine lists its processes and
reads the password in pg_dump's, pg_restore's or psql's arguments. The scripts give libpq
the password in a password file of the run's own (mode 0600, removed after), decoded from
the URL's percent-encoding and escaped as `.pgpass` wants; the tools, wrapped here to record
what they were given, never see it in their arguments.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
from pathlib import Path
from urllib.parse import quote

import asyncpg

from ferry.db import driver_dsn
from tests.support.infra import Infra
from tests.support.services import unique

BACKUP = Path(__file__).resolve().parents[2] / "deploy" / "backup"
PASSWORD = "s3cret@pass:wörd\\%"
TOOLS = ("pg_dump", "pg_restore", "psql")


def real_tool(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))[-1:]), None
    )
    assert found, f"{name} is not installed"
    return found


def wrapped(folder: Path, log: Path) -> Path:
    """pg_dump, pg_restore and psql that log their arguments and password file, then run."""
    folder.mkdir()
    for name in TOOLS:
        wrapper = folder / name
        wrapper.write_text(
            "#!/bin/sh\n"
            f'printf "args: %s %s\\n" "$(basename "$0")" "$*" >> "{log}"\n'
            f'printf "passfile mode: %s\\n" "$(stat -c %a "$PGPASSFILE")" >> "{log}"\n'
            f'printf "passfile: %s\\n" "$(cat "$PGPASSFILE")" >> "{log}"\n'
            f'exec "{real_tool(name)}" "$@"\n'
        )
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return folder


async def test_the_password_reaches_libpq_by_a_private_file_not_the_process_list(
    infra: Infra, tmp_path: Path
) -> None:
    schemas = {s: unique(f"backup_secret_{s}") for s in ("release", "dml", "deploy", "els")}
    conn = await asyncpg.connect(driver_dsn(infra.database_url))
    try:
        for schema in schemas.values():
            await conn.execute(f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".kept (n int)')
            await conn.execute(f'INSERT INTO "{schema}".kept VALUES (41)')
        user, rest = infra.database_url.split("://", 1)[1].split("@", 1)
        # The test database trusts its clients, so any password gets in: what is checked
        # is where the scripts put it.
        url = f"postgresql+asyncpg://{user.split(':')[0]}:{quote(PASSWORD, safe='')}@{rest}"
        log = tmp_path / "tools.log"
        env = {
            "PATH": "/usr/bin:/bin",
            "FERRY_DATABASE_URL": url,
            "FERRY_DML_MEDIA_DIR": str(tmp_path / "media"),
            "FERRY_PG_BIN": str(wrapped(tmp_path / "bin", log)),
            "TMPDIR": str(tmp_path),
            **{f"FERRY_{s.upper()}_DB_SCHEMA": schema for s, schema in schemas.items()},
        }
        (tmp_path / "media").mkdir()
        for script in ("backup.sh", "restore.sh"):
            done = await asyncio.to_thread(
                subprocess.run,
                [str(BACKUP / script), str(tmp_path / "backup")],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
        for schema in schemas.values():
            assert await conn.fetchval(f'SELECT n FROM "{schema}".kept') == 41
    finally:
        for schema in schemas.values():
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()

    said = log.read_text().splitlines()
    args = [line for line in said if line.startswith("args: ")]
    assert {a.split()[1] for a in args} == set(TOOLS), said
    assert not [a for a in args if "s3cret" in a], args
    assert set(line for line in said if line.startswith("passfile mode")) == {"passfile mode: 600"}
    expected = "passfile: *:*:*:*:s3cret@pass\\:wörd\\\\%"
    assert set(line for line in said if line.startswith("passfile: ")) == {expected}
    # Removed once the script is done.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tmp.")], os.listdir(tmp_path)

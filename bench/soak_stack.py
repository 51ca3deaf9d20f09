"""The soak's four services as processes it can kill and restart, set up as `make run` sets
them up (deploy/local/run.sh): each on its own Kafka user, signing with its own key, trusting
the development token issuer; and the stack's Kafka and PostgreSQL, stopped and started with
deploy/local/kafka.sh and postgres.sh as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import BenchError
from ferry.devauth import ISSUER, DevIssuer
from ferry.devports import free_port
from ferry.eventsigning import development_keys

SERVICES = ("release", "dml", "deploy", "els")
READY_SECONDS = 120
TOKEN_SECONDS = 24 * 3600
REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "deploy" / "local"


@dataclass
class Service:
    """One service: its process (replaced at each restart), port and log."""

    name: str
    url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    down_since: float | None = None
    """When a fault took it down (monotonic); None while it answers."""
    pids: list[int] = field(default_factory=list)

    @property
    def module(self) -> str:
        return f"{self.name}_svc"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.pids.append(self.process.pid)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.down_since = time.monotonic()
        self.process.send_signal(signum)

    async def exited(self, timeout: float = 60) -> int:
        """Its exit status, once it has exited; SIGKILL after `timeout` s."""
        assert self.process is not None
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.process.wait), timeout)
        except TimeoutError:
            self.process.kill()
            return await asyncio.to_thread(self.process.wait)

    async def ready(self) -> None:
        """Wait until `/readyz` answers 200; raises `BenchError` if it exits meanwhile."""
        deadline = time.monotonic() + READY_SECONDS
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise BenchError(f"{self.name}-svc exited with {self.process.returncode}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        self.down_since = None
                        return
                await asyncio.sleep(0.3)
        raise BenchError(f"{self.name}-svc was not ready in {READY_SECONDS} s; see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def rss_kib(self) -> int | None:
        """The process's resident set (VmRSS), None if it is not running."""
        if self.process is None or self.process.poll() is not None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None


@dataclass
class Stack:
    """The services, the token issuer they trust, and where the run keeps its files."""

    work: Path
    issuer: DevIssuer
    services: dict[str, Service]

    def token(self, subject: str, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.mint(subject, roles, ttl=TOKEN_SECONDS)}"}

    def url(self, name: str) -> str:
        return self.services[name].url


def prepare(work: Path) -> Stack:
    """The environment of each service, as run.sh gives it; nothing started yet."""
    work.mkdir(parents=True, exist_ok=True)
    issuer = DevIssuer(work / "auth")
    keys = work / "event-keys"
    signers = development_keys(keys, [f"{name}-svc" for name in SERVICES])
    trusted = {service: [signer.public_key] for service, signer in signers.items()}
    users = Path(os.environ["FERRY_KAFKA_USERS_DIR"])
    ports = {name: free_port() for name in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    dml_token = work / "deploy-svc.token"
    dml_token.write_text(issuer.mint("deploy-svc", ["deployer", "tester"], ttl=TOKEN_SECONDS))
    (work / "logs").mkdir(exist_ok=True)
    common = {
        **os.environ,
        "FERRY_AUTH_ISSUER": ISSUER,
        "FERRY_AUTH_JWKS_FILE": str(work / "auth" / "jwks.json"),
        "FERRY_EVENT_TRUSTED_KEYS": json.dumps(trusted),
        "FERRY_DML_MEDIA_DIR": str(work / "dml-media"),
        # The scrub would read every file back; the soak's disk is for its own traffic.
        "FERRY_DML_SCRUB_INTERVAL_SECONDS": "0",
        "FERRY_DEPLOY_DML_URL": urls["dml"],
        "FERRY_DEPLOY_DML_TOKEN_FILE": str(dml_token),
        "FERRY_DEPLOY_WORK_DIR": str(work / "deploy-work"),
        "FERRY_DEPLOY_PUBLIC_URL": urls["deploy"],
        "FERRY_DEPLOY_DRIVERS": '["local"]',
        "FERRY_DEPLOY_LOCAL_ROOTS": json.dumps([str(work / "targets")]),
        "FERRY_DEPLOY_EXECUTOR_POLL_SECONDS": "0.5",
    }
    services = {}
    for name in SERVICES:
        user = f"ferry-{name}-svc"
        env = common | {
            f"FERRY_{name.upper()}_PORT": str(ports[name]),
            "FERRY_EVENT_SIGNING_KEY_FILE": str(keys / f"{name}-svc.pem"),
            "FERRY_KAFKA_USERNAME": user,
            "FERRY_KAFKA_PASSWORD_FILE": str(users / f"{user}.password"),
        }
        services[name] = Service(name, urls[name], env, work / "logs" / f"{name}-svc.log")
    return Stack(work, issuer, services)


async def start_all(stack: Stack) -> None:
    for service in stack.services.values():
        service.start()
    await asyncio.gather(*(s.ready() for s in stack.services.values()))


def stop_all(stack: Stack) -> None:
    for service in stack.services.values():
        with contextlib.suppress(ProcessLookupError):
            service.stop()


# --- Kafka and PostgreSQL ----------------------------------------------------------------


async def local_script(script: str, action: str) -> None:
    """deploy/local/<script> <action> on this stack (its ports and state dir are in the
    environment), keeping its data: with-stack.sh set FERRY_FRESH=1, which would wipe it."""
    env = {**os.environ, "FERRY_FRESH": "0"}
    done = await asyncio.to_thread(
        subprocess.run,
        [str(LOCAL / script), action],
        env=env,
        capture_output=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{script} {action} failed: {done.stderr.decode()[-2000:]}")


def kafka_pid() -> int:
    pid_file = Path(os.environ["FERRY_STATE_DIR"]) / "kafka" / "kafka.pid"
    return int(pid_file.read_text().strip())


async def kill_kafka() -> None:
    """kill -9 of the broker's JVM, then wait until it is gone."""
    pid = kafka_pid()
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not _alive(pid):
            return
        await asyncio.sleep(0.1)
    raise BenchError(f"the broker (pid {pid}) outlived SIGKILL for 10 s")


def _alive(pid: int) -> bool:
    """Running, not merely a zombie nobody has reaped yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"

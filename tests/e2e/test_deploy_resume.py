"""deploy-svc killed (`kill -9`) in the middle of a wave, and started again: the deployment
goes on from where it was, without redoing the targets already done."""

from __future__ import annotations

import json
import signal
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.devports import free_port
from tests.support.infra import Infra
from tests.support.published import MEDIA, approved_release
from tests.support.services import Process, eventually, read_topic, unique

TARGETS = ["web-1", "web-2", "web-3"]


async def ready(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.timeout(240)
async def test_a_deployment_killed_mid_wave_resumes_where_it_was(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    common = {
        "FERRY_DATABASE_URL": infra.database_url,
        "FERRY_TOPIC_PREFIX": topic_prefix,
        **infra.auth_env(),
    }
    dml_port, deploy_port = free_port(), free_port()
    dml_env = {
        **common,
        "FERRY_DML_PORT": str(dml_port),
        "FERRY_DML_DB_SCHEMA": unique("e2e_dml"),
        "FERRY_DML_MEDIA_DIR": str(tmp_path / "dml"),
        "FERRY_DML_SCRUB_INTERVAL_SECONDS": "0",
        **infra.signing_env("dml-svc"),
        **infra.kafka_env("dml-svc"),
    }
    token = tmp_path / "deploy-svc.token"
    token.write_text(infra.issuer.mint("deploy-svc", ["deployer", "tester"]))
    deploy_env = {
        **common,
        "FERRY_DEPLOY_PORT": str(deploy_port),
        "FERRY_DEPLOY_DB_SCHEMA": unique("e2e_deploy"),
        "FERRY_DEPLOY_DML_URL": f"http://127.0.0.1:{dml_port}",
        "FERRY_DEPLOY_DML_TOKEN_FILE": str(token),
        "FERRY_DEPLOY_WORK_DIR": str(tmp_path / "work"),
        "FERRY_DEPLOY_LEASE_SECONDS": "2",
        "FERRY_DEPLOY_EXECUTOR_POLL_SECONDS": "0.2",
        # The operator's limits: local targets in the test's folder, checked with `test`.
        "FERRY_DEPLOY_DRIVERS": '["local"]',
        "FERRY_DEPLOY_LOCAL_ROOTS": json.dumps([str(tmp_path / "targets")]),
        "FERRY_DEPLOY_LOCAL_PROGRAMS": '["test"]',
        **infra.signing_env("deploy-svc"),
        **infra.kafka_env("deploy-svc"),
    }
    dml_url, deploy_url = f"http://127.0.0.1:{dml_port}", f"http://127.0.0.1:{deploy_port}"
    dml = Process("dml_svc", dml_env, tmp_path / "dml-svc.log")
    deploy = Process("deploy_svc", deploy_env, tmp_path / "deploy-svc-1.log")
    try:
        librarian = infra.issuer.bearer("lib", "dml-librarian")
        dora = infra.issuer.bearer("dora", "deployer")
        async with (
            httpx.AsyncClient(base_url=dml_url, headers=librarian, timeout=10) as dml_api,
            httpx.AsyncClient(base_url=deploy_url, headers=dora, timeout=10) as api,
        ):
            for url in (dml_url, deploy_url):
                await eventually(partial(ready, api, url), timeout=60, what=f"{url} ready")
            targets = [
                {
                    "name": name,
                    "driver": "local",
                    "settings": {
                        "path": str(tmp_path / "targets" / name),
                        "verify_command": ["test", "-f", MEDIA],
                    },
                }
                for name in TARGETS
            ]
            defined = await api.put("/environments/production", json={"targets": targets})
            assert defined.status_code == 200, defined.text
            release_id = await approved_release(
                infra, dml_api, f"{topic_prefix}release.events", "7.0.0"
            )
            # Each wave soaks 4 s: long enough to kill the service inside the first one.
            plan = {
                "release_id": str(release_id),
                "environment": "production",
                "strategy": {"kind": "canary", "canary": 1, "soak_seconds": 4},
            }

            async def planned() -> httpx.Response | None:
                answer = await api.post("/deployments", json=plan)
                return answer if answer.status_code == 201 else None

            deployment = (await eventually(planned, what="the plan to be accepted")).json()["id"]

            async def first_target_done() -> dict[str, Any] | None:
                body: dict[str, Any] = (await api.get(f"/deployments/{deployment}")).json()
                return body if body["deployed"] == ["web-1"] else None

            await eventually(first_target_done, timeout=60, what="web-1 to be deployed")
            deploy.proc.send_signal(signal.SIGKILL)  # mid-wave: web-1 soaking, unverified
            deploy.proc.wait()
            assert deploy.proc.returncode == -signal.SIGKILL
            deploy.stop()  # closes its log

            deploy = Process("deploy_svc", deploy_env, tmp_path / "deploy-svc-2.log")
            await eventually(lambda: ready(api, deploy_url), timeout=60, what="deploy-svc again")

            async def completed() -> dict[str, Any] | None:
                body: dict[str, Any] = (await api.get(f"/deployments/{deployment}")).json()
                return body if body["state"] == "completed" else None

            done = await eventually(completed, timeout=90, what="the deployment to complete")
            assert done["deployed"] == TARGETS
        for name in TARGETS:
            assert (tmp_path / "targets" / name / "current").resolve().name == "7.0.0"
        events = await read_topic(infra.kafka, f"{topic_prefix}deploy.events", expect=9, settle=1)
        # Each event once on the topic, though the relay may have been killed between
        # publishing a batch and forgetting it (ferry.outbox reconciles).
        assert len({e.id for e in events}) == len(events)
        deployed = [e.data["target"] for e in events if e.type == "TargetDeployed"]
        assert sorted(deployed) == TARGETS  # each once: web-1 was not redone
        assert [e.type for e in events].count("DeploymentCompleted") == 1
    finally:
        deploy.stop()
        dml.stop()

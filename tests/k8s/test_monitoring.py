"""The chart's monitoring: the alerts operators need, each one's PromQL parsed and naming
only figures Ferry (or kube-state-metrics) exports, each with its runbook in
docs/operations.md; the Grafana dashboard's queries likewise; the ServiceMonitor finds
every service; the scheduled audit runs `ferry audit verify` as the read-only auditor."""

from __future__ import annotations

import json
import re
from typing import Any

import promql_parser
from prometheus_client.metrics import MetricWrapperBase

from ferry import metrics
from ferry.audit import SERVICES
from tests.k8s.rendered import CHART, ROOT, Obj, container_env, pod_spec, render, selects

OPERATIONS = ROOT / "docs" / "operations.md"
KUBE_STATE_METRICS = {
    "kube_cronjob_status_last_schedule_time",
    "kube_cronjob_status_last_successful_time",
    "kube_cronjob_created",
}
NEEDED = {
    "FerryOutboxStalled": "ferry_outbox_oldest_event_age_seconds",
    "FerryOutboxBacklog": "ferry_outbox_lag_events",
    "FerryConsumerLag": "ferry_consumer_lag_records",
    "FerryHttpErrors": "ferry_http_request_duration_seconds_count",
    "FerryDependencyDown": "ferry_dependency_down",
    "FerryDeploymentFailed": "ferry_events_appended_total",
    "FerryElsEscalated": "ferry_events_appended_total",
    "FerrySignatureRejected": "ferry_foreign_events_rejected_total",
    "FerryAuditVerifyFailed": "kube_cronjob_status_last_schedule_time",
    "FerryAuditVerifyNotRun": "kube_cronjob_status_last_successful_time",
}
"""Each alert the operators need, and the figure it reads."""


def exported() -> set[str]:
    """The series names Ferry's services expose, as Prometheus stores them."""
    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_count", "_sum"]}
    names = set()
    for collector in vars(metrics).values():
        if isinstance(collector, MetricWrapperBase):
            for family in collector.describe():
                names |= {family.name + suffix for suffix in suffixes[family.type]}
    return names


def series(expr: str) -> set[str]:
    """The series an expression reads (it must parse)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if type(node).__name__ == "VectorSelector":
            found.add(node.name)
            return
        # The operands of each kind of node (aggregations, binary operators, calls, ranges).
        for attribute in ("expr", "param", "lhs", "rhs", "args", "vector_selector"):
            value = getattr(node, attribute, None)
            for child in value if isinstance(value, list) else [value]:
                if child is not None:
                    walk(child)

    walk(promql_parser.parse(expr))
    return found


def rules() -> list[Obj]:
    (rule,) = render("helm-production").of_kind("PrometheusRule")
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the document's headings."""
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_the_alerts_operators_need_read_what_ferry_exports() -> None:
    known = exported() | KUBE_STATE_METRICS
    alerts = {r["alert"]: r for r in rules()}
    assert set(alerts) == set(NEEDED)
    for name, rule in alerts.items():
        read = series(rule["expr"])
        assert NEEDED[name] in read, f"{name} reads {read}"
        assert read <= known, f"{name}: {read - known} is exported by nothing"
        assert rule["labels"]["severity"] in {"warning", "critical"}, name


def test_every_alert_has_its_runbook() -> None:
    documented = anchors(OPERATIONS.read_text())
    for rule in rules():
        url = rule["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert page.endswith("docs/operations.md"), url
        assert anchor == rule["alert"].lower(), url
        assert anchor in documented, f"docs/operations.md has no section `{rule['alert']}`"


def test_the_dashboard_queries_what_ferry_exports() -> None:
    dashboard = json.loads((CHART / "files" / "grafana-dashboard.json").read_text())
    known = exported()
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(queries) >= 8
    shown: set[str] = set()
    for query in queries:
        read = series(query.replace("$namespace", "ferry"))
        assert read <= known, f"{query}: {read - known} is exported by nothing"
        shown |= read
    needed = {n for n in NEEDED.values() if n not in KUBE_STATE_METRICS}
    assert needed <= shown, f"the dashboard shows none of {needed - shown}"


def test_the_service_monitor_scrapes_every_service() -> None:
    production = render("helm-production")
    (monitor,) = production.of_kind("ServiceMonitor")
    picked = [
        s
        for s in production.of_kind("Service")
        if selects(monitor["spec"]["selector"], s["metadata"]["labels"])
    ]
    assert {s["metadata"]["name"] for s in picked} == {f"{s}-svc" for s in SERVICES}
    for service in picked:
        assert "http" in {p["name"] for p in service["spec"]["ports"]}
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["http"]


def test_the_scheduled_audit_verifies_every_store_as_the_read_only_auditor() -> None:
    production = render("helm-production")
    (cron,) = production.of_kind("CronJob")
    (container,) = pod_spec(cron)["containers"]
    assert container["command"] == ["ferry", "audit", "verify", "--json"]
    env = container_env(production, container)
    assert env["FERRY_KAFKA_USERNAME"] == "ferry-auditor"
    for service in SERVICES:
        assert env[f"FERRY_{service.upper()}_DB_SCHEMA"], service
    secrets = {v["secret"]["secretName"] for v in pod_spec(cron)["volumes"] if "secret" in v}
    assert "ferry-auditor" in secrets
    assert not secrets & {f"ferry-{s}-svc" for s in SERVICES}, "a service's Kafka password"
    assert cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0, "a failure stays failed"

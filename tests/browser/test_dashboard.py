"""The dashboard in a real browser: it loads, shows a release made through the API, follows
a deployment's waves live from the feed, and draws Early Life Support and delivery metrics."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from ferry.db import Database
from ferry.events import Event
from ferry.events.deploy import (
    BackoutStepAwaitingConfirmation,
    DeploymentCompleted,
    DeploymentPausedOutsideWindow,
    DeploymentScheduled,
    DeploymentStarted,
    DeploymentWindowOverridden,
    EnvironmentDefined,
    RollbackStarted,
    Strategy,
    TargetDeployed,
    UnauthorisedChangeCleared,
    UnauthorisedChangeDetected,
    Wave,
    WaveStarted,
    WaveVerified,
)
from ferry.events.els import (
    Criterion,
    ElsCriteriaAgreed,
    ElsObservationRecorded,
    ElsStarted,
    Period,
)
from ferry.events.release import BackoutStep, DeploymentWindow, ImprovementAction, ReadinessItem
from release_svc.config import Settings as ReleaseSettings
from release_svc.domain.commands import SetWindows
from release_svc.main import spec as release_spec
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.releases import (
    Recorded,
    applied,
    approved_by,
    packaged,
    planned,
    policy_of,
    validated,
    with_backout,
)
from tests.support.services import publish, serving, settings
from tests.support.stored import store, store_reviewed

TODAY = datetime.now(UTC).date()
PLAN = {
    "name": "Payments dashboard",
    "version": "2026.12.0",
    "planned_start": TODAY.isoformat(),
    "planned_end": (TODAY + timedelta(days=20)).isoformat(),
}


async def wait_for(
    driver: webdriver.Chrome,
    what: str,
    check: Callable[[webdriver.Chrome], Any],
    timeout: float = 30,
) -> Any:
    """Wait, off the event loop (which serves the page), until `check` holds."""
    try:
        # The page re-renders what it shows as events arrive: an element found a moment
        # before may be gone when read, so the check runs again rather than failing.
        wait = WebDriverWait(
            driver, timeout, 0.2, ignored_exceptions=[StaleElementReferenceException]
        )
        return await asyncio.to_thread(wait.until, check)
    except TimeoutException:
        shown = driver.find_element(By.TAG_NAME, "main").text
        live = driver.find_element(By.ID, "live")
        # selenium leaves get_log unannotated: it returns the log's entries, each a dict.
        get_log = cast(Callable[[str], list[dict[str, Any]]], driver.get_log)
        console = "\n".join(entry["message"] for entry in get_log("browser"))
        raise AssertionError(
            f"the page never showed {what}; the feed is {live.text} ({live.get_attribute('title')})"
            f", its console says:\n{console}\nand it shows:\n{shown}"
        ) from None


def text_of(css: str) -> Callable[[webdriver.Chrome], str]:
    return lambda d: " ".join(e.text for e in d.find_elements(By.CSS_SELECTOR, css))


async def test_the_dashboard_shows_releases_and_follows_a_deployment_live(
    infra: Infra, topic_prefix: str, browser: webdriver.Chrome
) -> None:
    spec = release_spec(settings(ReleaseSettings, infra, topic_prefix))
    manager = infra.issuer.bearer("rita", "release-manager")
    viewer = infra.issuer.mint("vic", ["viewer"])
    deploy_topic, els_topic = f"{topic_prefix}deploy.events", f"{topic_prefix}els.events"

    async def deploy(*events: Event) -> None:
        await publish(infra, deploy_topic, *events, actor="service:deploy-svc")

    async with serving(spec, headers=manager) as api:
        created = await api.post("/releases", json=PLAN)
        assert created.status_code == 201
        release = created.json()
        start = datetime.now(UTC) + timedelta(days=2)
        windows = await api.put(
            f"/releases/{release['id']}/windows",
            json={
                "windows": [
                    {
                        "environment": "production",
                        "start": start.isoformat(),
                        "end": (start + timedelta(hours=3)).isoformat(),
                    }
                ]
            },
            headers={"If-Match": created.headers["ETag"]},
        )
        assert windows.status_code == 200, windows.text
        freeze = await api.post(
            "/freezes",
            json={
                "start": (start + timedelta(days=5)).isoformat(),
                "end": (start + timedelta(days=7)).isoformat(),
                "reason": "year-end trading peak",
                "environments": ["production"],
            },
        )
        assert freeze.status_code == 201, freeze.text
        stricter = {
            "required_validations": ["functional", "integration"],
            "approvers": 2,
            "high_risk_approvers": 2,
            "reason": "two approvers for every minor release",
        }
        proposed = await api.put("/policies/minor", json=stricter, headers={"If-Match": '"0"'})
        assert proposed.status_code == 202, proposed.text
        await deploy(EnvironmentDefined(environment="production", production=True, targets=[]))

        base = str(api.base_url)
        await asyncio.to_thread(browser.get, f"{base}/dashboard#token={viewer}")
        identifier = release["identifier"]
        await wait_for(browser, "the release", lambda d: identifier in text_of("#releases")(d))
        assert "planned" in text_of("#releases .state-group")(browser)
        await wait_for(browser, "its window", lambda d: identifier in text_of("#calendar")(d))
        assert "year-end trading peak" in text_of("#calendar .freezes")(browser)
        # The token left the address bar as soon as the page read it.
        assert "token" not in browser.current_url
        await wait_for(browser, "the feed live", lambda d: text_of("#live")(d) == "live")
        browser.execute_script("window.stillTheSamePage = true")
        # A viewer may not replay the whole history (auditors may): the page says so.
        note = browser.find_element(By.CSS_SELECTOR, "#deployments .history-note")
        await wait_for(browser, "the history note", lambda _: note.is_displayed())

        # The policy change awaits a change authority; once approved, it awaits no more.
        pending = f'#governance [data-proposal="{proposed.json()["id"]}"]'
        shown = await wait_for(
            browser, "the pending proposal", lambda d: d.find_elements(By.CSS_SELECTOR, pending)
        )
        assert "two approvers for every minor release" in shown[0].text
        await approved(api, infra, proposed, approver="carl")
        await wait_for(
            browser,
            "the proposal decided",
            lambda d: not d.find_elements(By.CSS_SELECTOR, pending),
            timeout=60,
        )

        # A deployment starts: its first target lands.
        ids = {
            "deployment_id": uuid.uuid4(),
            "release_id": uuid.UUID(release["id"]),
            "environment": "production",
        }
        waves = [Wave(targets=["web-1", "web-2"]), Wave(targets=["web-3"])]
        await deploy(
            DeploymentScheduled(
                **ids,
                release_version=PLAN["version"],
                strategy=Strategy.PHASED,
                waves=waves,
                scheduled_start=datetime.now(UTC),
                requested_by="dora",
            ),
            DeploymentStarted(**ids),
            WaveStarted(**ids, wave=0),
            TargetDeployed(**ids, wave=0, target="web-1"),
        )
        wave = f'[data-deployment="{ids["deployment_id"]}"] [data-wave="0"]'
        first = await wait_for(
            browser,
            "the first target deployed",
            lambda d: d.find_elements(By.CSS_SELECTOR, f'{wave}[data-deployed="1"]'),
            timeout=60,  # the feed finds a topic created just now within 30 s at worst
        )
        assert "1/2 running" in first[0].text
        assert identifier in text_of(f'[data-deployment="{ids["deployment_id"]}"]')(browser)

        # The wave goes on: the page follows without a reload.
        await deploy(
            TargetDeployed(**ids, wave=0, target="web-2"),
            WaveVerified(**ids, wave=0),
            DeploymentPausedOutsideWindow(**ids, wave=1, window_end=datetime.now(UTC)),
        )
        await wait_for(
            browser,
            "the first wave verified",
            lambda d: d.find_elements(By.CSS_SELECTOR, f'{wave}[data-state="verified"]'),
        )
        card = f'[data-deployment="{ids["deployment_id"]}"]'
        await wait_for(
            browser,
            "the deployment shown waiting for its window",
            lambda d: "paused: its window closed" in text_of(card)(d),
        )
        assert "2/3 targets" in text_of(card)(browser)
        await deploy(
            DeploymentWindowOverridden(**ids, by="cora", reason="the fix is needed tonight"),
            WaveStarted(**ids, wave=1),
        )
        await wait_for(
            browser,
            "the override seen",
            lambda d: "paused" not in text_of(card)(d),
        )
        assert browser.execute_script("return window.stillTheSamePage") is True

        # It completes: delivery metrics count it, and Early Life Support begins.
        await deploy(
            TargetDeployed(**ids, wave=1, target="web-3"),
            WaveVerified(**ids, wave=1),
            DeploymentCompleted(**ids, completed_at=datetime.now(UTC), deployed_by="dora"),
        )
        await wait_for(
            browser,
            "the deployment completed",
            lambda d: d.find_elements(
                By.CSS_SELECTOR,
                f'[data-deployment="{ids["deployment_id"]}"][data-state="completed"]',
            ),
        )
        await wait_for(
            browser,
            "a completed deployment in the metrics",
            lambda d: "1 completed" in text_of('[data-metric="deployment_frequency"]')(d),
        )
        assert "production" in text_of("#metrics")(browser)
        assert "unassessed 0 %" in text_of('[data-metric="change_failure_rate_by_risk"]')(browser)
        assert "of 1" in text_of('[data-metric="against_plan"]')(browser)

        # A target changed behind Ferry's back shows until it is back in line.
        where = {"environment": "production", "target": "web-2"}
        await deploy(UnauthorisedChangeDetected(**where, expected=PLAN["version"], found="0.9"))
        drift = '#deployments .drift li[data-target="production/web-2"]'
        await wait_for(
            browser, "the unauthorised change", lambda d: d.find_elements(By.CSS_SELECTOR, drift)
        )
        assert "runs 0.9, where Ferry deployed" in text_of(drift)(browser)
        await wait_for(
            browser,
            "the change counted in the metrics",
            lambda d: text_of('[data-metric="unauthorised_changes"] .value')(d) == "1",
        )
        await deploy(UnauthorisedChangeCleared(**where, version=PLAN["version"]))
        await wait_for(
            browser,
            "the change cleared",
            lambda d: not d.find_elements(By.CSS_SELECTOR, drift),
        )

        # Rolled back later by its plan, whose manual step waits for someone.
        step = BackoutStep(description="drain the payment queue")
        await deploy(
            RollbackStarted(**ids, reason="errors", requested_by="dora", steps=[step]),
            BackoutStepAwaitingConfirmation(**ids, step=1, description=step.description),
        )
        card = f'[data-deployment="{ids["deployment_id"]}"]'
        await wait_for(
            browser,
            "the backout shown waiting",
            lambda d: "waiting for: drain the payment queue" in text_of(card)(d),
        )

        case = {
            "case_id": uuid.uuid4(),
            "release_id": ids["release_id"],
            "environment": "production",
        }
        criterion = Criterion(metric="errors", baseline=10, tolerance=0.5, period=Period.MINUTE)
        now = datetime.now(UTC)
        await publish(
            infra,
            els_topic,
            ElsStarted(**case, deployment_id=ids["deployment_id"], started_at=now),
            ElsCriteriaAgreed(
                **case,
                criteria=[criterion],
                agreed_by_deployment="dora",
                agreed_by_operations="otto",
            ),
            ElsObservationRecorded(
                **case, observation_id="o-1", metric="errors", value=4, observed_at=now
            ),
            actor="service:els-svc",
        )
        chart = f'[data-case="{case["case_id"]}"] [data-metric="errors"] svg'
        drawn = await wait_for(
            browser,
            "the ELS metric against its baseline",
            lambda d: d.find_elements(By.CSS_SELECTOR, f"{chart} rect.value"),
        )
        assert drawn[0].get_attribute("data-value") == "4"
        svg = browser.find_element(By.CSS_SELECTOR, chart)
        assert (svg.get_attribute("data-baseline"), svg.get_attribute("data-limit")) == ("10", "15")
        assert browser.execute_script("return window.stillTheSamePage") is True


async def test_the_dashboard_narrows_to_the_team_chosen(
    infra: Infra, topic_prefix: str, browser: webdriver.Chrome
) -> None:
    spec = release_spec(settings(ReleaseSettings, infra, topic_prefix))
    auditor = infra.issuer.mint("audrey", ["auditor"])
    async with serving(spec, headers=infra.issuer.bearer("ada", "ferry-admin")) as api:
        names = {}
        for team in ("payments", "identity"):
            body = {"reason": f"the {team} team"}
            await approved(api, infra, await api.put(f"/teams/{team}", json=body))
            manager = infra.issuer.bearer(f"{team}-lead", f"{team}:release-manager")
            created = await api.post(
                "/releases", json={**PLAN, "name": f"{team} release"}, headers=manager
            )
            assert created.status_code == 201, created.text
            names[team] = created.json()["identifier"]

        await asyncio.to_thread(browser.get, f"{api.base_url}/dashboard#token={auditor}")
        both = "both teams' releases"
        await wait_for(
            browser, both, lambda d: all(n in text_of("#releases")(d) for n in names.values())
        )
        option = '#team option[value="identity"]'
        await wait_for(browser, "the teams", lambda d: d.find_elements(By.CSS_SELECTOR, option))
        browser.find_element(By.CSS_SELECTOR, option).click()
        await wait_for(
            browser,
            "identity's release alone",
            lambda d: names["identity"] in text_of("#releases")(d)
            and names["payments"] not in text_of("#releases")(d),
        )
        await wait_for(browser, "the feed live again", lambda d: text_of("#live")(d) == "live")


async def test_the_dashboard_shows_unfinished_improvement_actions_and_follows_them(
    infra: Infra, topic_prefix: str, browser: webdriver.Chrome
) -> None:
    release_settings = settings(ReleaseSettings, infra, topic_prefix)
    viewer = infra.issuer.mint("vic", ["viewer"])

    def action(description: str, owner: str, days: int) -> ImprovementAction:
        due = TODAY + timedelta(days=days)
        return ImprovementAction(
            action_id=uuid.uuid4(), description=description, owner=owner, due=due
        )

    late, later = action("brief the desk", "olga", -2), action("automate smoke", "sam", 9)
    async with serving(release_spec(release_settings)) as api:
        db = Database(release_settings.database_url, release_settings.db_schema, "release-svc")
        try:
            await store_reviewed(db, [later, late], "REL-2026-0042")
        finally:
            await db.dispose()
        await asyncio.to_thread(browser.get, f"{api.base_url}/dashboard#token={viewer}")
        await wait_for(
            browser, "both actions", lambda d: "automate smoke" in text_of("#actions")(d)
        )
        rows = browser.find_elements(By.CSS_SELECTOR, "#actions tr[data-action]")
        assert [r.get_attribute("data-action") for r in rows] == [
            str(late.action_id),
            str(later.action_id),
        ]
        assert "overdue" in (rows[0].get_attribute("class") or "")
        assert text_of("#actions .summary")(browser) == "2 unfinished 1 overdue"
        await wait_for(browser, "the feed live", lambda d: text_of("#live")(d) == "live")

        # olga finishes hers: the page hears of it on the feed and drops it.
        path = f"/improvement-actions/{late.action_id}"
        etag = (await api.get(path, headers=infra.issuer.bearer("vic", "viewer"))).headers["ETag"]
        done = await api.put(
            f"{path}/state",
            json={"state": "done", "note": "a week ahead"},
            headers={**infra.issuer.bearer("olga", "tester"), "If-Match": etag},
        )
        assert done.status_code == 200, done.text
        await wait_for(
            browser,
            "the finished action gone",
            lambda d: "brief the desk" not in text_of("#actions")(d),
        )
        assert text_of("#actions .summary")(browser) == "1 unfinished"


async def test_the_calendar_shows_each_releases_risk_and_what_it_must_still_have_ready(
    infra: Infra, topic_prefix: str, browser: webdriver.Chrome
) -> None:
    release_settings = settings(ReleaseSettings, infra, topic_prefix)
    viewer = infra.issuer.mint("vic", ["viewer"])
    release = planned(kind=Recorded, identifier="REL-2026-0077")
    assert isinstance(release, Recorded)
    start = datetime.now(UTC) + timedelta(days=1)
    window = DeploymentWindow(environment="production", start=start, end=start + timedelta(hours=2))
    applied(release, release.set_windows(SetWindows(release.id, [window], by="rita"), [], {}))
    ready_first = replace(
        policy_of(release), readiness=frozenset({ReadinessItem.OPERATIONS_ACCEPTANCE})
    )
    approved_by(validated(packaged(with_backout(release))), "carl", ready_first)
    async with serving(release_spec(release_settings)) as api:
        db = Database(release_settings.database_url, release_settings.db_schema, "release-svc")
        try:
            await store(db, release)
        finally:
            await db.dispose()
        await asyncio.to_thread(browser.get, f"{api.base_url}/dashboard#token={viewer}")
        row = '#calendar tr[data-release="REL-2026-0077"] .readiness'
        await wait_for(
            browser, "the release's window", lambda d: d.find_elements(By.CSS_SELECTOR, row)
        )
        assert text_of(row)(browser) == "operations acceptance"
        risk = '#calendar tr[data-release="REL-2026-0077"] .risk'
        assert text_of(risk)(browser) == "low"  # as assessed


async def test_the_dashboard_shows_the_viewers_notifications_and_marks_them_read(
    infra: Infra, topic_prefix: str, browser: webdriver.Chrome
) -> None:
    release_settings = settings(
        ReleaseSettings, infra, topic_prefix, notify_poll_seconds=0.2, notify_look_seconds=0.2
    )
    viewer = infra.issuer.mint("vic", ["viewer"])
    late = ImprovementAction(
        action_id=uuid.uuid4(),
        description="read the runbook",
        owner="vic",
        due=TODAY - timedelta(days=1),
    )
    async with serving(release_spec(release_settings)) as api:
        await asyncio.to_thread(browser.get, f"{api.base_url}/dashboard#token={viewer}")
        await wait_for(
            browser, "an empty inbox", lambda d: "Nothing for you yet" in text_of("#inbox")(d)
        )
        await wait_for(browser, "the feed live", lambda d: text_of("#live")(d) == "live")
        db = Database(release_settings.database_url, release_settings.db_schema, "release-svc")
        try:
            await store_reviewed(db, [late], "REL-2026-0088")
        finally:
            await db.dispose()
        # The reminder's NotificationSent comes through the feed: the page reads its inbox.
        item = "#inbox li.unread"
        await wait_for(browser, "the reminder", lambda d: d.find_elements(By.CSS_SELECTOR, item))
        assert "REL-2026-0088: improvement action overdue" in text_of(item)(browser)
        assert text_of("#inbox .summary")(browser) == "1 new"
        browser.find_element(By.CSS_SELECTOR, f"{item} button").click()
        await wait_for(
            browser, "it read", lambda d: d.find_elements(By.CSS_SELECTOR, "#inbox li.read")
        )
        assert text_of("#inbox .summary")(browser) == ""


async def test_a_notification_asking_for_it_is_acknowledged_from_the_dashboard(
    infra: Infra, topic_prefix: str, browser: webdriver.Chrome
) -> None:
    release_settings = settings(
        ReleaseSettings,
        infra,
        topic_prefix,
        communication_poll_seconds=0.2,
        notify_poll_seconds=0.2,
    )
    viewer = infra.issuer.mint("vic", ["viewer"])
    async with serving(
        release_spec(release_settings), headers=infra.issuer.bearer("rita", "release-manager")
    ) as api:
        await api.put("/audiences/ops", json={"members": ["vic"]})
        created = await api.post("/releases", json=PLAN)
        entry = {
            "audience": "ops",
            "channel": "inbox",
            "message": "Read the runbook",
            "milestone": "release_start",
            "offset": "-P7D",
            "acknowledge": True,
        }
        await api.put(
            f"/releases/{created.json()['id']}/communication-plan",
            json={"entries": [entry]},
            headers={"If-Match": created.headers["ETag"]},
        )
        await asyncio.to_thread(browser.get, f"{api.base_url}/dashboard#token={viewer}")
        button = "#inbox li button.acknowledge"
        await wait_for(
            browser, "the acknowledgement asked", lambda d: d.find_elements(By.CSS_SELECTOR, button)
        )
        browser.find_element(By.CSS_SELECTOR, button).click()
        await wait_for(
            browser, "it acknowledged", lambda d: not d.find_elements(By.CSS_SELECTOR, button)
        )
        [acknowledged] = (
            await api.get("/notifications", headers=infra.issuer.bearer("vic", "viewer"))
        ).json()["items"]
        assert acknowledged["acknowledged_at"] is not None

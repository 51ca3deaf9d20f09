"""The local driver against real folders: what is live after each step."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from deploy_svc.drivers.base import BadTargetSettings, DriverError, Job
from deploy_svc.drivers.limits import LocalLimits
from deploy_svc.drivers.local import LocalDriver
from tests.support.drivers import job_for

ANYWHERE = LocalLimits(roots=(Path("/"),), programs=("*",))
"""These tests are of the driver's steps: the operator's limits are tested in
test_driver_limits.py."""


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "srv" / "payments"


def job(tmp_path: Path, target: Path, version: str, **settings: object) -> Job:
    media = {"app.txt": f"payments {version}\n".encode(), "conf/app.ini": b"[app]\n"}
    return job_for(tmp_path / "media" / version, version, media, path=str(target), **settings)


def live(target: Path) -> str:
    return (target / "current" / "app.txt").read_text()


async def test_install_makes_the_version_live_and_keeps_the_one_before(
    tmp_path: Path, target: Path
) -> None:
    driver = LocalDriver(ANYWHERE)
    assert await driver.install(job(tmp_path, target, "1.0")) is None
    assert await driver.install(job(tmp_path, target, "1.1")) == "1.0"
    assert live(target) == "payments 1.1\n"
    assert (target / "current" / "conf" / "app.ini").read_bytes() == b"[app]\n"
    assert os.readlink(target / "current") == "releases/1.1"
    assert sorted(p.name for p in (target / "releases").iterdir()) == ["1.0", "1.1"]


async def test_installing_the_same_version_again_answers_the_same_previous(
    tmp_path: Path, target: Path
) -> None:
    driver = LocalDriver(ANYWHERE)
    await driver.install(job(tmp_path, target, "1.0"))
    again = job(tmp_path, target, "1.1")
    assert await driver.install(again) == "1.0"
    assert await driver.install(again) == "1.0"
    assert live(target) == "payments 1.1\n"


async def test_a_copy_cut_short_is_started_over(tmp_path: Path, target: Path) -> None:
    half = target / "releases" / ".staging-1.0"
    half.mkdir(parents=True)
    (half / "app.txt").write_text("pay")
    assert await LocalDriver(ANYWHERE).install(job(tmp_path, target, "1.0")) is None
    assert live(target) == "payments 1.0\n"
    assert not half.exists()


async def test_roll_back_makes_the_previous_version_live_again(
    tmp_path: Path, target: Path
) -> None:
    driver = LocalDriver(ANYWHERE)
    await driver.install(job(tmp_path, target, "1.0"))
    second = job(tmp_path, target, "1.1")
    previous = await driver.install(second)
    await driver.roll_back(second, previous)
    await driver.roll_back(second, previous)  # a repeat changes nothing
    assert live(target) == "payments 1.0\n"
    assert (target / "releases" / "1.1" / "app.txt").exists()


async def test_roll_back_to_nothing_takes_the_release_off(tmp_path: Path, target: Path) -> None:
    driver = LocalDriver(ANYWHERE)
    first = job(tmp_path, target, "1.0")
    await driver.install(first)
    await driver.roll_back(first, None)
    assert not (target / "current").exists()


async def test_roll_back_to_a_version_no_longer_there_fails(tmp_path: Path, target: Path) -> None:
    driver = LocalDriver(ANYWHERE)
    first = job(tmp_path, target, "1.0")
    await driver.install(first)
    with pytest.raises(DriverError, match=r"0\.9"):
        await driver.roll_back(first, "0.9")
    assert live(target) == "payments 1.0\n"


async def test_verify_command_runs_in_the_new_version_with_its_version(
    tmp_path: Path, target: Path
) -> None:
    check = "import os,sys; sys.exit(open('app.txt').read() != 'payments ' + os.environ['FERRY_RELEASE_VERSION'] + '\\n')"  # noqa: E501
    first = job(tmp_path, target, "1.0", verify_command=[sys.executable, "-c", check])
    driver = LocalDriver(ANYWHERE)
    await driver.install(first)
    await driver.verify(first)


async def test_a_failing_verify_command_fails_with_its_exit_code_its_output_in_the_log(
    tmp_path: Path, target: Path
) -> None:
    command = [sys.executable, "-c", "print('db migration missing'); raise SystemExit(3)"]
    first = job(tmp_path, target, "1.0", verify_command=command)
    driver = LocalDriver(ANYWHERE)
    await driver.install(first)
    with pytest.raises(DriverError, match=r"exited with 3") as failed:
        await driver.verify(first)
    assert "db migration missing" not in str(failed.value)
    assert "db migration missing" in first.log[-1]


async def test_a_verify_command_over_its_time_is_stopped(tmp_path: Path, target: Path) -> None:
    command = ["sh", "-c", "sleep 30"]
    first = job(tmp_path, target, "1.0", verify_command=command, verify_timeout_seconds=0.3)
    driver = LocalDriver(ANYWHERE)
    await driver.install(first)
    with pytest.raises(DriverError, match=r"did not finish within 0\.3s"):
        await driver.verify(first)


async def test_verify_fails_when_another_version_is_live(tmp_path: Path, target: Path) -> None:
    driver = LocalDriver(ANYWHERE)
    first, second = job(tmp_path, target, "1.0"), job(tmp_path, target, "1.1")
    await driver.install(first)
    await driver.install(second)
    with pytest.raises(DriverError, match=r"points at 1\.1, not 1\.0"):
        await driver.verify(first)


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/evil", "a/../../b", "./x", ""])
async def test_a_media_name_leaving_the_folder_is_refused(
    tmp_path: Path, target: Path, name: str
) -> None:
    evil = job_for(tmp_path / "media", "1.0", {name: b"x"}, path=str(target))
    with pytest.raises(DriverError, match="media name"):
        await LocalDriver(ANYWHERE).install(evil)
    assert not (target / "releases").exists()
    assert not (target / "current").exists()


@pytest.mark.parametrize("version", ["..", "a/b", ""])
async def test_a_version_that_cannot_name_a_folder_is_refused(
    tmp_path: Path, target: Path, version: str
) -> None:
    with pytest.raises(DriverError, match="cannot name a folder"):
        await LocalDriver(ANYWHERE).install(job_for(tmp_path, version, {}, path=str(target)))


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({}, "path"),
        ({"path": "relative/dir"}, "path"),
        ({"path": "/srv/x", "verify_command": []}, "verify_command"),
        ({"path": "/srv/x", "verify_url": "ftp://x"}, "verify_url"),
        ({"path": "/srv/x", "verify_timeout_seconds": 0}, "verify_timeout_seconds"),
        ({"path": "/srv/x", "colour": "blue"}, "colour"),
    ],
)
def test_check_names_the_setting_at_fault(settings: dict[str, object], setting: str) -> None:
    with pytest.raises(BadTargetSettings) as refused:
        LocalDriver(ANYWHERE).check(settings)
    assert refused.value.setting == setting


async def test_roll_back_of_a_target_never_installed_to_nothing_changes_nothing(
    tmp_path: Path, target: Path
) -> None:
    await LocalDriver(ANYWHERE).roll_back(job(tmp_path, target, "1.0"), None)
    assert not target.exists()


async def test_settings_gone_bad_since_checked_fail_the_step(tmp_path: Path) -> None:
    with pytest.raises(DriverError, match="path: must be an absolute path"):
        await LocalDriver(ANYWHERE).install(job_for(tmp_path, "1.0", {}, path="relative"))

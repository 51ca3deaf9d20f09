"""The `ferry` command tree as a user meets it: its commands, completion and usage errors."""

from __future__ import annotations

import pytest

from ferry.cli.app import main


def test_every_team_finds_its_commands(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    shown = capsys.readouterr().out
    for command in ("release", "media", "deploy", "els", "schedule", "audit", "token", "schema"):
        assert command in shown
    main(["release", "--help"])
    shown = capsys.readouterr().out
    for command in ("plan", "show", "list", "package", "validate", "approve"):
        assert command in shown


def test_completion_scripts_are_offered(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--show-completion", "bash"])
    assert "_FERRY_COMPLETE=complete_bash" in capsys.readouterr().out


def test_a_wrong_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["release", "approve", "REL-2026-0001"])
    assert exited.value.code == 2
    assert "--rfc" in capsys.readouterr().err

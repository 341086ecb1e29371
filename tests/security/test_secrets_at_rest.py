"""Secrets and private data at rest are owner-only, and secrets stay off the command line.

The sandbox database (and its WAL) holds the auth token and API secret, the callback log holds
task data: files 0600; a TRCLI_HOME that trcli creates is 0700. ``trcli config set`` refuses a
secret given as an argument (shell history, ``ps``) and reads it from a prompt or stdin.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskrouter_cli.callbacks.log import CallbackRecorder, callback_log_path
from taskrouter_cli.sandbox.store import SqliteStore
from tests.helpers.cli import invoke
from tests.serve.test_log import record as record_for_test

SECRET = "0123456789abcdef0123456789abcdef"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common umask, under which files would otherwise be created 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_trcli_home_that_trcli_creates_is_0700_and_the_database_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None
) -> None:
    home = tmp_path / "fresh" / "trcli"
    monkeypatch.setenv("TRCLI_HOME", str(home))
    outcome = invoke(["sandbox", "env"], {"TRCLI_HOME": str(home)})
    assert outcome.exit_code == 0, outcome.stderr
    assert mode(home) == 0o700
    assert mode(home / "sandbox.db") == 0o600


def test_the_database_and_its_wal_are_0600_while_open(tmp_path: Path, loose_umask: None) -> None:
    path = tmp_path / "sandbox.db"
    store = SqliteStore(path)
    try:
        store.setdefault_meta("auth_token", SECRET)
        wal = Path(str(path) + "-wal")
        assert wal.exists()
        assert mode(path) == 0o600 and mode(wal) == 0o600
    finally:
        store.close()


def test_an_existing_world_readable_database_is_tightened(
    tmp_path: Path, loose_umask: None
) -> None:
    path = tmp_path / "sandbox.db"
    SqliteStore(path).close()
    os.chmod(path, 0o644)
    SqliteStore(path).close()
    assert mode(path) == 0o600


def test_the_callback_log_is_0600(loose_umask: None) -> None:
    recorder = CallbackRecorder(callback_log_path(), live="off")
    recorder.start()
    recorder.record(record_for_test(1))
    recorder.stop()
    assert mode(callback_log_path()) == 0o600


def test_the_config_file_and_a_created_home_are_private(tmp_path: Path, loose_umask: None) -> None:
    home = tmp_path / "new-home"
    outcome = invoke(
        ["config", "set", "auth_token"], {"TRCLI_HOME": str(home)}, stdin=SECRET + "\n"
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert mode(home) == 0o700
    assert mode(home / "config.toml") == 0o600
    assert SECRET not in outcome.stdout + outcome.stderr


@pytest.mark.parametrize("key", ["auth_token", "api_secret", "ngrok_authtoken"])
def test_config_set_refuses_a_secret_given_as_an_argument(key: str) -> None:
    outcome = invoke(["config", "set", key, SECRET], {})
    assert outcome.exit_code == 2
    assert SECRET not in outcome.stdout + outcome.stderr
    assert "not accepted on the command line" in outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert invoke(["config", "show", "--json"], {}).stdout.count(SECRET[-4:]) == 0


def test_config_set_reads_a_secret_from_standard_input() -> None:
    outcome = invoke(["config", "set", "auth_token"], {}, stdin=SECRET + "\n")
    assert outcome.exit_code == 0, outcome.stderr
    assert SECRET not in outcome.stdout + outcome.stderr

"""API-key auth (TWILIO_API_KEY + TWILIO_API_SECRET, as Twilio recommends) end to end: the
settings, the client factory and the SDK against a real sandbox, which accepts its own key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers.cli import invoke


def api_key_env(sandbox: Any, secret: str | None = None) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": sandbox.account_sid,
        "TWILIO_API_KEY": sandbox.service.api_key_sid,
        "TWILIO_API_SECRET": secret or sandbox.service.api_key_secret,
        "TRCLI_API_URL": sandbox.base_url,
    }


def test_commands_work_with_an_api_key(sandbox: Any) -> None:
    workers = invoke(["worker", "list", "--json"], api_key_env(sandbox)).ok().json()
    assert sorted(w["friendly_name"] for w in workers) == ["Alice", "Bob"]
    created = invoke(
        ["task", "create", "--attributes", '{"selected_language":"es"}', "--json"],
        api_key_env(sandbox),
    )
    assert created.ok().json()["assignment_status"] == "pending"


def test_a_wrong_api_secret_is_a_credentials_error(sandbox: Any) -> None:
    outcome = invoke(["worker", "list"], api_key_env(sandbox, secret="not-the-secret"))
    assert outcome.exit_code == 3
    assert "Twilio 20003" in outcome.stderr
    assert "not-the-secret" not in outcome.stderr


def test_sandbox_env_prints_api_key_lines(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    lines = invoke(["sandbox", "env", "--db", db, "--api-key"], {}).ok().stdout.splitlines()
    names = [line.removeprefix("export ").split("=", 1)[0] for line in lines]
    assert names == ["TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "TRCLI_API_URL"]
    assert lines[1].startswith("export TWILIO_API_KEY=SK") and len(lines[1]) == 22 + 34
    again = invoke(["sandbox", "env", "--db", db, "--api-key"], {}).ok().stdout.splitlines()
    assert again == lines  # generated once per database

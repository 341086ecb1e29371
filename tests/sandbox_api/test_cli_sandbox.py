"""``trcli sandbox`` env / reset / callbacks / port-in-use, through click's CliRunner."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from taskrouter_cli.cli import cli


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_env_prints_stable_lines_for_a_database(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    first = run("sandbox", "env", "--db", str(db), "--port", "4999")
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    prefix = "export TWILIO_ACCOUNT_SID="
    assert lines[0].startswith(prefix + "AC") and len(lines[0]) == len(prefix) + 34
    assert lines[1].startswith("export TWILIO_AUTH_TOKEN=")
    assert lines[2] == "export TRCLI_API_URL=http://127.0.0.1:4999"
    again = run("sandbox", "env", "--db", str(db), "--port", "4999")
    assert again.output == first.output


def test_env_defaults_to_trcli_home(isolated_environment: Path) -> None:
    result = run("sandbox", "env")
    assert result.exit_code == 0, result.output
    assert (isolated_environment / "sandbox.db").exists()
    assert "export TRCLI_API_URL=http://127.0.0.1:4010" in result.output


def test_reset_empties_a_database(tmp_path: Path, fake_clock: Any) -> None:
    from tests.fixtures.sandbox import make_service

    db = tmp_path / "s.db"
    service = make_service(fake_clock, path=str(db))
    sid = service.account_sid
    assert service.list("workspace", {}, {}, 50, None).records
    service.close() if hasattr(service, "close") else None
    result = run("sandbox", "reset", "--db", str(db), "--yes")
    assert result.exit_code == 0, result.output
    service = make_service(fake_clock, path=str(db), seed=False)
    try:
        assert service.list("workspace", {}, {}, 50, None).records == []
        assert service.account_sid == sid
    finally:
        service.close() if hasattr(service, "close") else None


def test_reset_a_running_sandbox_by_url(sandbox: Any) -> None:
    result = run("sandbox", "reset", "--url", sandbox.base_url, "--seed", "--yes")
    assert result.exit_code == 0, result.output
    names = [
        w["friendly_name"] for w in sandbox.service.list("workspace", {}, {}, 50, None).records
    ]
    assert names == ["TaskRouter Quickstart"]


def test_callbacks_json_and_table(sandbox: Any, callback_target: Any) -> None:
    from tests.sandbox_api.util import ES_TASK

    service = sandbox.service
    ws = sandbox.workspace_sid
    flows = service.list("workflow", {"workspace_sid": ws}, {}, 50, None).records
    service.update(
        "workflow",
        {"workspace_sid": ws},
        flows[0]["sid"],
        {"assignment_callback_url": callback_target.url},
    )
    service.create("task", {"workspace_sid": ws}, {"attributes": ES_TASK})
    workers = service.list("worker", {"workspace_sid": ws}, {"friendly_name": "Alice"}, 50, None)
    idle = service.list("activity", {"workspace_sid": ws}, {"friendly_name": "Idle"}, 50, None)
    service.update(
        "worker",
        {"workspace_sid": ws},
        workers.records[0]["sid"],
        {"activity_sid": idle.records[0]["sid"]},
    )
    sandbox.flush()
    as_json = run("sandbox", "callbacks", "--url", sandbox.base_url, "--json")
    assert as_json.exit_code == 0, as_json.output
    deliveries = json.loads(as_json.output)
    assert [d["url"] for d in deliveries if d["kind"] == "assignment"] == [callback_target.url]
    table = run("sandbox", "callbacks", "--url", sandbox.base_url, env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "assignment" in table.output and "200" in table.output


def test_callbacks_unreachable_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(cli, ["sandbox", "callbacks", "--url", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 5
    assert result.output.count("\n") == 1 and "Cannot reach a sandbox" in result.output


def test_port_in_use_is_a_usage_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["sandbox", "--in-memory", "--port", str(port)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert f"Port {port}" in errors[0] and "--port" in errors[0]


def test_db_and_in_memory_conflict() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--in-memory", "--db", "x.db"])
    assert result.exit_code == 2
    assert "--db and --in-memory" in result.output

"""SIGKILL the sandbox process during a stream of writes; every acknowledged task survives."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import requests

from tests.helpers.sandbox_process import env_lines, start_sandbox, wait_for_port


@pytest.mark.slow
def test_sigkill_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    port_file = tmp_path / "port"
    process = start_sandbox(port_file, "--db", str(db))
    try:
        base = wait_for_port(process, port_file)
        env = env_lines(process)
        assert env["TRCLI_API_URL"] == base
        session = requests.Session()
        session.auth = (env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
        workspaces = session.get(f"{base}/v1/Workspaces", timeout=10).json()["workspaces"]
        ws = workspaces[0]["sid"]
        acknowledged: list[str] = []
        for i in range(200):
            answer = session.post(
                f"{base}/v1/Workspaces/{ws}/Tasks",
                data={"Attributes": json.dumps({"selected_language": "en", "n": i})},
                timeout=10,
            )
            assert answer.status_code == 201, answer.text
            acknowledged.append(answer.json()["sid"])
            if i == 150:
                process.send_signal(signal.SIGKILL)
                break
        process.wait(10)
        assert process.returncode == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)

    restarted = start_sandbox(port_file, "--db", str(db))
    try:
        base = wait_for_port(restarted, port_file)
        env2 = env_lines(restarted)
        assert env2["TWILIO_AUTH_TOKEN"] == env["TWILIO_AUTH_TOKEN"]
        session = requests.Session()
        session.auth = (env2["TWILIO_ACCOUNT_SID"], env2["TWILIO_AUTH_TOKEN"])
        stored: set[str] = set()
        url: str | None = f"{base}/v1/Workspaces/{ws}/Tasks?PageSize=1000"
        while url:
            page = session.get(url, timeout=10).json()
            stored.update(task["sid"] for task in page["tasks"])
            url = page["meta"]["next_page_url"]
        missing = [sid for sid in acknowledged if sid not in stored]
        assert not missing, f"{len(missing)} acknowledged tasks lost"
        assert len(workspaces) == 1  # the restart did not seed a second quickstart
        assert len(session.get(f"{base}/v1/Workspaces", timeout=10).json()["workspaces"]) == 1
    finally:
        restarted.send_signal(signal.SIGTERM)
        try:
            restarted.wait(15)
        finally:
            if restarted.poll() is None:
                restarted.kill()
    assert restarted.returncode == 0

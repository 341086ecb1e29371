"""`trcli sandbox` options that change behaviour: --time-travel with `sandbox advance`,
--no-match, --callback-timeout; run as a real process on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.helpers.sandbox_process import env_lines, start_sandbox, stop, wait_for_port


@pytest.fixture
def running_sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    extra: list[str] = getattr(request, "param", [])
    port_file = tmp_path / "port"
    process = start_sandbox(port_file, "--in-memory", *extra)
    try:
        base_url = wait_for_port(process, port_file)
        env = env_lines(process)
        env["TRCLI_API_URL"] = base_url
        yield env
    finally:
        stop(process)


def reserve_alice(env: dict[str, str]) -> str:
    invoke(["worker", "set-activity", "Alice", "Offline"], env).ok()
    task = invoke(["task", "create", "--attributes", '{"selected_language":"es"}', "--json"], env)
    invoke(["worker", "set-activity", "Alice", "Idle"], env).ok()
    return str(task.ok().json()["sid"])


@pytest.mark.parametrize("running_sandbox", [["--time-travel"]], indirect=True)
def test_advance_reaches_the_reservation_timeout(running_sandbox: dict[str, str]) -> None:
    env = running_sandbox
    task_sid = reserve_alice(env)
    pending = invoke(["reservation", "list", "--task", task_sid, "--json"], env).ok().json()
    assert [r["reservation_status"] for r in pending] == ["pending"]

    moved = invoke(["sandbox", "advance", "1201", "--url", env["TRCLI_API_URL"]], env)
    assert moved.ok().stderr.startswith("✓ Sandbox clock advanced by 1201 s")

    after = invoke(["reservation", "list", "--task", task_sid, "--json"], env).ok().json()
    assert [r["reservation_status"] for r in after] == ["timeout"]
    alice = invoke(["worker", "show", "Alice", "--json"], env).ok().json()
    assert alice["activity_name"] == "Offline"  # the workspace's timeout activity
    task = invoke(["task", "show", task_sid, "--json"], env).ok().json()
    assert task["assignment_status"] == "pending"


def test_advance_without_time_travel_says_how(running_sandbox: dict[str, str]) -> None:
    outcome = invoke(["sandbox", "advance", "10", "--url", running_sandbox["TRCLI_API_URL"]], {})
    assert outcome.exit_code == 4
    assert "--time-travel" in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("running_sandbox", [["--no-match", "pending"]], indirect=True)
def test_no_match_pending_keeps_the_task(running_sandbox: dict[str, str]) -> None:
    created = invoke(
        ["task", "create", "--attributes", '{"selected_language":"fr"}', "--json"],
        running_sandbox,
    )
    task = created.ok().json()
    assert task["assignment_status"] == "pending"
    invoke(["sandbox", "settle"], running_sandbox).ok()
    routed = invoke(["task", "show", task["sid"], "--json"], running_sandbox).ok().json()
    assert (routed["assignment_status"], routed["task_queue_sid"]) == ("pending", None)


def test_no_match_default_cancels_the_task(running_sandbox: dict[str, str]) -> None:
    created = invoke(
        ["task", "create", "--attributes", '{"selected_language":"fr"}', "--json"],
        running_sandbox,
    )
    assert created.ok().json()["assignment_status"] == "pending"  # the answer comes first
    invoke(["sandbox", "settle"], running_sandbox).ok()
    task = invoke(["task", "show", created.json()["sid"], "--json"], running_sandbox).ok().json()
    assert task["assignment_status"] == "canceled"
    assert task["reason"] == "No matching filter"


def test_bad_option_values_are_usage_errors() -> None:
    outcome = invoke(["sandbox", "--callback-timeout", "0", "--in-memory"], {})
    assert outcome.exit_code == 2
    assert "--callback-timeout" in outcome.stderr

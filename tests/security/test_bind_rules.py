"""Binding beyond loopback: serve refuses it without a token; both banners say what is bound."""

from __future__ import annotations

from pathlib import Path

from taskrouter_cli.errors import ExitCode
from taskrouter_cli.guards.origin import describe_bind
from tests.helpers.cli import invoke
from tests.helpers.sandbox_process import start_sandbox, stop, wait_for_port
from tests.serve.test_cli_serve import ServeProcess


def test_serve_without_a_token_refuses_a_non_loopback_bind() -> None:
    outcome = invoke(["serve", "--host", "0.0.0.0", "--port", "0"], {})
    assert outcome.exit_code == ExitCode.CREDENTIALS
    [line] = outcome.stderr.strip().splitlines()
    assert "--host 0.0.0.0" in line and "--no-validate" in line


def test_serve_without_a_token_on_every_interface_needs_no_validate_and_says_so() -> None:
    process = ServeProcess(["--host", "0.0.0.0", "--no-validate"], {})
    try:
        serving = process.next_json()
        assert serving["kind"] == "serving"
        assert serving["bound"] == f"0.0.0.0:{serving['local_url'].rsplit(':', 1)[1]}"
        assert serving["validation"] is False
    finally:
        process.stop()


def test_serve_banner_says_loopback_only_by_default() -> None:
    process = ServeProcess([], {})
    try:
        serving = process.next_json()
        assert serving["bound"].startswith("127.0.0.1:")
    finally:
        process.stop()


def test_the_banner_line_says_whether_the_network_can_reach_the_server() -> None:
    assert describe_bind("127.0.0.1", 8080) == "127.0.0.1:8080 (loopback only)"
    assert describe_bind("localhost", 8080) == "localhost:8080 (loopback only)"
    assert "reachable from the network" in describe_bind("0.0.0.0", 8080)
    assert "reachable from the network" in describe_bind("::", 8080)
    assert describe_bind("192.168.1.20", 80).startswith("192.168.1.20:80 (reachable")


def test_the_sandbox_warns_on_a_non_loopback_bind_and_prints_the_bound_address(
    tmp_path: Path,
) -> None:
    port_file = tmp_path / "port"
    process = start_sandbox(port_file, "--in-memory", "--host", "0.0.0.0")
    try:
        wait_for_port(process, port_file)
    finally:
        _, stderr = stop(process)
    banner = stderr.decode()
    port = port_file.read_text().strip()
    assert f"listening on 0.0.0.0:{port}" in " ".join(banner.split())
    assert "not loopback only" in banner

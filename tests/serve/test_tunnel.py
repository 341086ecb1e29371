"""The ngrok tunnel, with pyngrok faked at its boundary (ngrok.connect / ngrok.disconnect)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pyngrok import conf, ngrok
from pyngrok.exception import PyngrokNgrokError, PyngrokNgrokInstallError

from taskrouter_cli.callbacks.tunnel import (
    TunnelCredentialsError,
    TunnelError,
    open_tunnel,
)
from taskrouter_cli.cli import cli
from taskrouter_cli.errors import ExitCode


class FakeTunnel:
    def __init__(self, public_url: str) -> None:
        self.public_url = public_url


@pytest.fixture
def ngrok_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, list[Any]]:
    """Record connect/disconnect; no ngrok config file with a token on this machine."""
    calls: dict[str, list[Any]] = {"connect": [], "disconnect": []}
    # open_tunnel sets NGROK_AUTHTOKEN for the agent: make sure teardown removes it again.
    monkeypatch.setenv("NGROK_AUTHTOKEN", "placeholder")
    monkeypatch.delenv("NGROK_AUTHTOKEN")
    monkeypatch.setattr(conf, "DEFAULT_NGROK_CONFIG_PATH", str(tmp_path / "ngrok.yml"))

    def connect(addr: str, proto: str, **kwargs: Any) -> FakeTunnel:
        calls["connect"].append((addr, proto, kwargs))
        return FakeTunnel("https://abc123.ngrok-free.app")

    def disconnect(public_url: str, **kwargs: Any) -> None:
        calls["disconnect"].append(public_url)

    monkeypatch.setattr(ngrok, "connect", connect)
    monkeypatch.setattr(ngrok, "disconnect", disconnect)
    return calls


def test_success_keeps_the_token_off_the_command_line(ngrok_calls: dict[str, list[Any]]) -> None:
    tunnel = open_tunnel(8080, auth_token="2abcSECRET")
    assert tunnel.public_url == "https://abc123.ngrok-free.app"
    [(addr, proto, kwargs)] = ngrok_calls["connect"]
    assert (addr, proto) == ("http://127.0.0.1:8080", "http")
    assert kwargs["pyngrok_config"].auth_token is None  # pyngrok would pass it as --authtoken
    assert os.environ["NGROK_AUTHTOKEN"] == "2abcSECRET"  # the agent reads it from here
    assert tunnel.close() is None
    assert ngrok_calls["disconnect"] == ["https://abc123.ngrok-free.app"]


def test_an_http_tunnel_url_is_upgraded_to_https(
    ngrok_calls: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ngrok, "connect", lambda *a, **k: FakeTunnel("http://abc.ngrok.io"))
    tunnel = open_tunnel(9000, auth_token="t", host="0.0.0.0")
    assert tunnel.public_url == "https://abc.ngrok.io"
    tunnel.close()
    assert ngrok_calls["disconnect"] == ["http://abc.ngrok.io"]


def test_missing_auth_token(ngrok_calls: dict[str, list[Any]]) -> None:
    with pytest.raises(TunnelCredentialsError) as caught:
        open_tunnel(8080, auth_token=None)
    line = caught.value.one_line()
    assert "No ngrok auth token" in line and "NGROK_AUTHTOKEN" in line
    assert "--public-url" in line
    assert ngrok_calls["connect"] == []


def test_a_token_in_ngroks_own_config_is_enough(
    ngrok_calls: dict[str, list[Any]], tmp_path: Path
) -> None:
    (tmp_path / "ngrok.yml").write_text('version: "3"\nagent:\n  authtoken: 2abc\n')
    assert open_tunnel(8080, auth_token=None).public_url.startswith("https://")


@pytest.mark.parametrize(
    ("error", "kind", "expected"),
    [
        (
            PyngrokNgrokInstallError("An error occurred while downloading ngrok: timed out"),
            TunnelError,
            "Cannot download the ngrok agent",
        ),
        (
            PyngrokNgrokError(
                "The ngrok process errored on start",
                ngrok_error="authentication failed: Your account is limited to 1 simultaneous "
                "ngrok agent sessions.\n\nERR_NGROK_108",
            ),
            TunnelError,
            "another ngrok agent session is already running",
        ),
        (
            PyngrokNgrokError(
                "The ngrok process errored on start",
                ngrok_error="authentication failed: The authtoken you specified is invalid. "
                "ERR_NGROK_4018",
            ),
            TunnelCredentialsError,
            "ngrok refused the auth token (ERR_NGROK_4018)",
        ),
        (
            PyngrokNgrokError("The ngrok process errored on start", ngrok_error="bad things"),
            TunnelError,
            "ngrok failed: bad things",
        ),
    ],
)
def test_pyngrok_errors_become_one_line_with_the_fix(
    ngrok_calls: dict[str, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    kind: type[Exception],
    expected: str,
) -> None:
    def failing(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(ngrok, "connect", failing)
    with pytest.raises(kind) as caught:
        open_tunnel(8080, auth_token="t")
    line = caught.value.one_line()  # type: ignore[attr-defined]
    assert expected in line
    assert "\n" not in line


def test_serve_tunnel_without_a_twilio_token_refuses_to_start(
    ngrok_calls: dict[str, list[Any]],
) -> None:
    env = {"NGROK_AUTHTOKEN": "t", "TWILIO_ACCOUNT_SID": "AC" + "1" * 32}
    result = CliRunner().invoke(cli, ["serve", "--tunnel", "--port", "0"], env=env)
    assert result.exit_code == ExitCode.CREDENTIALS
    assert "could not be checked" in result.stderr and "--no-validate" in result.stderr
    assert result.stderr.count("\n") == 1
    assert ngrok_calls["connect"] == []


def test_serve_tunnel_with_api_key_auth_asks_for_the_auth_token(
    ngrok_calls: dict[str, list[Any]],
) -> None:
    env = {
        "NGROK_AUTHTOKEN": "t",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_API_KEY": "SK" + "2" * 32,
        "TWILIO_API_SECRET": "secret",
    }
    result = CliRunner().invoke(cli, ["serve", "--tunnel", "--port", "0"], env=env)
    assert result.exit_code == ExitCode.CREDENTIALS
    assert "API key" in result.stderr and "TWILIO_AUTH_TOKEN" in result.stderr


def test_serve_tunnel_errors_exit_with_one_line(
    ngrok_calls: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def failing(*args: Any, **kwargs: Any) -> None:
        raise PyngrokNgrokInstallError("An error occurred while downloading ngrok")

    monkeypatch.setattr(ngrok, "connect", failing)
    env = {
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "x",
        "NGROK_AUTHTOKEN": "t",
        # an agent path that does not exist, whatever this machine has installed: the notice
        # below must not depend on ~/.config/ngrok or on PATH
        "PYNGROK_NGROK_PATH": str(tmp_path / "absent" / "ngrok"),
    }
    result = CliRunner().invoke(cli, ["serve", "--tunnel", "--port", "0"], env=env)
    assert result.exit_code == ExitCode.NETWORK
    notice, error = result.stderr.splitlines()  # the download notice, then the one-line error
    assert notice.startswith("The first tunnel downloads the ngrok agent")
    assert error.startswith("Error: Cannot download the ngrok agent")

    result = CliRunner().invoke(
        cli, ["serve", "--tunnel", "--port", "0"], env={**env, "NGROK_AUTHTOKEN": ""}
    )
    assert result.exit_code == ExitCode.CREDENTIALS
    assert "No ngrok auth token" in result.stderr


def test_pyngrok_download_progress_stays_off_stdout(
    ngrok_calls: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    def downloading_then_failing(*args: Any, **kwargs: Any) -> None:
        sys.stdout.write("Downloading ngrok ...\r")  # what pyngrok's installer prints
        raise PyngrokNgrokInstallError("An error occurred while downloading ngrok")

    monkeypatch.setattr(ngrok, "connect", downloading_then_failing)
    env = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "x", "NGROK_AUTHTOKEN": "t"}
    result = CliRunner().invoke(cli, ["serve", "--tunnel", "--port", "0", "--json"], env=env)
    assert result.exit_code == ExitCode.NETWORK
    assert "Downloading ngrok" not in result.stdout
    assert "Downloading ngrok" in result.stderr
    assert "\nError: Cannot download the ngrok agent" in result.stderr  # on a line of its own

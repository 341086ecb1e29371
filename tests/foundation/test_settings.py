"""Settings resolution, profiles and the config file, through the real CLI and loader."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from taskrouter_cli.cli import cli
from taskrouter_cli.config import ConfigFile, load_settings, mask_secret
from taskrouter_cli.errors import ConfigError, CredentialsError

ACCOUNT_A = "AC" + "a" * 32
ACCOUNT_B = "AC" + "b" * 32
ACCOUNT_C = "AC" + "c" * 32
TOKEN = "0123456789abcdef0123456789abcdef"


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def test_precedence_option_beats_env_beats_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("config", "set", "account_sid", ACCOUNT_A).exit_code == 0
    assert load_settings().account_sid == ACCOUNT_A
    assert load_settings().sources["account_sid"] == "profile default"

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_B)
    assert load_settings().account_sid == ACCOUNT_B
    assert load_settings().sources["account_sid"] == "env TWILIO_ACCOUNT_SID"

    settings = load_settings({"account_sid": ACCOUNT_C})
    assert settings.account_sid == ACCOUNT_C
    assert settings.sources["account_sid"] == "option"


def test_global_option_reaches_config_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_B)
    result = run("--account-sid", ACCOUNT_C, "config", "show", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["settings"]["account_sid"] == ACCOUNT_C
    assert shown["sources"]["account_sid"] == "option"


def test_default_when_nothing_is_set() -> None:
    settings = load_settings()
    assert settings.account_sid is None
    assert settings.profile == "default"
    assert not settings.has_credentials


def test_profiles_switch_with_use_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("config", "set", "account_sid", ACCOUNT_A).exit_code == 0
    assert run("config", "set", "account_sid", ACCOUNT_B, "--profile", "live").exit_code == 0
    assert load_settings().account_sid == ACCOUNT_A
    assert run("config", "use", "live").exit_code == 0
    assert load_settings().account_sid == ACCOUNT_B
    monkeypatch.setenv("TRCLI_PROFILE", "default")
    assert load_settings().account_sid == ACCOUNT_A

    listed = json.loads(run("config", "list", "--json").stdout)
    assert {row["profile"]: row["active"] for row in listed} == {"default": False, "live": True}


def test_unknown_profile_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    run("config", "set", "account_sid", ACCOUNT_A)
    monkeypatch.setenv("TRCLI_PROFILE", "nope")
    result = run("config", "show")
    assert result.exit_code == 2
    assert "No profile named 'nope'" in result.stderr
    assert "Traceback" not in result.output


def test_config_file_is_private_and_secret_is_masked(isolated_environment: Path) -> None:
    result = run("config", "set", "auth_token", input=TOKEN + "\n")
    assert result.exit_code == 0, result.output
    path = isolated_environment / "config.toml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert TOKEN in path.read_text()

    shown = run("config", "show")
    assert shown.exit_code == 0
    assert TOKEN not in shown.output
    assert TOKEN[-4:] in shown.output
    as_json = run("config", "show", "--json")
    assert TOKEN not in as_json.output
    assert json.loads(as_json.stdout)["settings"]["auth_token"] == mask_secret(TOKEN)
    assert TOKEN not in result.output  # the confirmation line masks it too


def test_rewriting_a_loose_file_makes_it_private(isolated_environment: Path) -> None:
    path = isolated_environment / "config.toml"
    path.write_text(f'[profiles.default]\naccount_sid = "{ACCOUNT_A}"\n')
    os.chmod(path, 0o644)
    assert run("config", "set", "workspace", "Quickstart").exit_code == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[profiles.default\n", "is not valid TOML"),
        ('[profiles.default]\naccount_sd = "x"\n', "unknown key 'account_sd'"),
        ("[profiles.default]\nworkspace = 3\n", "key 'workspace' in [profiles.default] must be"),
        ('colour = "blue"\n', "unknown key 'colour'"),
    ],
)
def test_broken_config_file_names_file_and_key(
    isolated_environment: Path, content: str, expected: str
) -> None:
    path = isolated_environment / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        ConfigFile.load(path)
    assert str(path) in caught.value.one_line()
    assert expected in caught.value.one_line()

    result = run("config", "show")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert str(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("account_sid", "WS" + "a" * 32, "is not an Account SID"),
        ("api_key", "AC" + "a" * 32, "is not an API key SID"),
        ("api_url", "localhost:4010", "must start with http://"),
    ],
)
def test_bad_setting_values_are_refused(key: str, value: str, expected: str) -> None:
    result = run("config", "set", key, value)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_missing_credentials_message_says_what_to_do() -> None:
    with pytest.raises(CredentialsError) as caught:
        load_settings().require_credentials()
    assert "TWILIO_ACCOUNT_SID" in caught.value.one_line()


def test_api_key_without_secret_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_A)
    monkeypatch.setenv("TWILIO_API_KEY", "SK" + "1" * 32)
    with pytest.raises(CredentialsError, match="TWILIO_API_SECRET is missing"):
        load_settings().require_credentials()
    monkeypatch.setenv("TWILIO_API_SECRET", "s3cret")
    load_settings().require_credentials()


def test_secret_value_is_prompted_not_required_on_command_line() -> None:
    result = run("config", "set", "workspace")
    assert result.exit_code == 2
    assert "Give a value for workspace" in result.stderr


def test_home_defaults_to_clicks_app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    import taskrouter_cli.cli  # noqa: F401  (the CLI tells config where the app dir is)
    from taskrouter_cli.config import trcli_home

    assert trcli_home({"TRCLI_HOME": str(tmp_path)}) == tmp_path
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert trcli_home({}) == Path(click.get_app_dir("trcli"))
    if sys.platform.startswith("linux"):
        assert trcli_home({}) == tmp_path / "trcli"


@pytest.mark.parametrize(
    ("args", "also"),
    [
        (["config", "set", "workspace", "X"], ""),
        (["sandbox", "env"], "or run the sandbox with --in-memory or --db PATH"),
        (["sandbox", "--port", "0"], "or run the sandbox with --in-memory or --db PATH"),
    ],
)
def test_an_unusable_trcli_home_is_one_line_naming_it(
    args: list[str], also: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run(*args, env={"TRCLI_HOME": str(blocker / "home")})
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: Cannot write to trcli's folder {blocker / 'home'} (")
    assert "Set TRCLI_HOME to a folder you can write to" in result.stderr and also in result.stderr
    assert result.stderr.count("\n") == 1

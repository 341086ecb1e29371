"""``trcli config``: named profiles of credentials and defaults."""

from __future__ import annotations

import sys

import click

from taskrouter_cli.cli.context import AppContext, json_option, pass_app
from taskrouter_cli.config import (
    DEFAULT_PROFILE,
    SECRET_KEYS,
    SETTING_BY_KEY,
    SETTINGS,
    ConfigFile,
    config_path,
    mask_secret,
    validate_setting,
)
from taskrouter_cli.errors import ConfigError


def _profile_name(app: AppContext, option: str | None, config: ConfigFile) -> str:
    return option or app.profile or config.active or DEFAULT_PROFILE


def _read_secret(prompt: str) -> str:
    """A secret typed at a hidden prompt, or the first line of standard input when piped."""
    stdin = sys.stdin
    if stdin.isatty():
        value = str(click.prompt(prompt, hide_input=True))
    else:
        value = stdin.readline().strip()
    if not value:
        raise ConfigError("No value given", "Type the secret at the prompt or pipe it in")
    return value


@click.group()
def config() -> None:
    """Manage named profiles (credentials and defaults) in $TRCLI_HOME/config.toml.

    The file is written with mode 0600; secrets are masked when shown.

    \b
    Examples:
      trcli config set account_sid ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      trcli config set auth_token            # prompts, so the token stays out of shell history
      trcli config set workspace "TaskRouter Quickstart" --profile live
      trcli config use live
    """


@config.command(name="set")
@click.argument("key", type=click.Choice([spec.key for spec in SETTINGS]), metavar="KEY")
@click.argument("value", required=False)
@click.option("--profile", "profile_option", metavar="NAME", help="Profile to change.")
@pass_app
def config_set(app: AppContext, key: str, value: str | None, profile_option: str | None) -> None:
    """Store KEY in a profile. KEY is one of: account_sid, auth_token, api_key, api_secret,
    workspace, workflow, api_url, ngrok_authtoken.

    Secrets (auth_token, api_secret, ngrok_authtoken) are never taken as VALUE, where shell
    history and 'ps' would keep them: they are prompted for, or read from standard input.

    \b
    Examples:
      trcli config set api_url http://127.0.0.1:4010 --profile sandbox
      trcli config set auth_token                              # prompts
      printenv TWILIO_AUTH_TOKEN | trcli config set auth_token # reads standard input
    """
    if key in SECRET_KEYS:
        if value is not None:
            raise ConfigError(
                f"{key} is a secret: it is not accepted on the command line (shell history "
                "and 'ps' would show it)",
                f"Run 'trcli config set {key}' and type it at the prompt, or pipe it in: "
                f"printenv VARIABLE | trcli config set {key}",
            )
        value = _read_secret(SETTING_BY_KEY[key].description)
    elif value is None:
        raise click.UsageError(f"Give a value for {key}: trcli config set {key} VALUE")
    path = config_path()
    document = ConfigFile.load(path)
    name = _profile_name(app, profile_option, document)
    document.profiles.setdefault(name, {})[key] = validate_setting(key, value)
    if document.active is None:
        document.active = name
    document.save()
    shown = mask_secret(value) if key in SECRET_KEYS else value
    click.echo(f"Set {key} = {shown} in profile '{name}' ({path})", err=True)


@config.command(name="unset")
@click.argument("key", type=click.Choice([spec.key for spec in SETTINGS]), metavar="KEY")
@click.option("--profile", "profile_option", metavar="NAME", help="Profile to change.")
@pass_app
def config_unset(app: AppContext, key: str, profile_option: str | None) -> None:
    """Remove KEY from a profile.

    \b
    Example:
      trcli config unset workspace
    """
    document = ConfigFile.load(config_path())
    name = _profile_name(app, profile_option, document)
    if key not in document.profile(name):
        raise ConfigError(f"Profile '{name}' has no {key} set")
    del document.profiles[name][key]
    document.save()
    click.echo(f"Removed {key} from profile '{name}'", err=True)


@config.command(name="show")
@click.option("--profile", "profile_option", metavar="NAME", help="Profile to show.")
@json_option
@pass_app
def config_show(app: AppContext, profile_option: str | None, as_json: bool) -> None:
    """Show the settings in effect (option > environment > profile), secrets masked.

    \b
    Example:
      trcli config show --json
    """
    from taskrouter_cli import output

    if profile_option:
        app.profile = profile_option
    settings = app.settings
    masked = settings.masked()
    if as_json:
        output.print_json(
            {
                "profile": settings.profile,
                "config_file": str(config_path()),
                "settings": masked,
                "sources": settings.sources,
            }
        )
        return
    rows = [
        {"key": key, "value": value, "source": settings.sources.get(key, "-")}
        for key, value in masked.items()
    ]
    output.print_table(
        rows,
        [("Setting", "key"), ("Value", "value"), ("From", "source")],
        title=f"Profile '{settings.profile}' ({config_path()})",
    )


@config.command(name="list")
@json_option
def config_list(as_json: bool) -> None:
    """List profiles; the active one is marked.

    \b
    Example:
      trcli config list
    """
    from taskrouter_cli import output

    document = ConfigFile.load(config_path())
    active = document.active or DEFAULT_PROFILE
    rows = [
        {"profile": name, "active": name == active, "keys": ", ".join(sorted(body))}
        for name, body in sorted(document.profiles.items())
    ]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        rows,
        [("Profile", "profile"), ("Active", "active"), ("Keys set", "keys")],
        empty_message="No profiles yet. Create one with 'trcli config set KEY VALUE'.",
    )


@config.command(name="use")
@click.argument("profile")
def config_use(profile: str) -> None:
    """Make PROFILE the active profile.

    \b
    Example:
      trcli config use sandbox
    """
    document = ConfigFile.load(config_path())
    if profile not in document.profiles:
        known = ", ".join(sorted(document.profiles)) or "none yet"
        raise ConfigError(
            f"No profile named '{profile}'",
            f"Known profiles: {known}; create it with 'trcli config set KEY VALUE --profile "
            f"{profile}'",
        )
    document.active = profile
    document.save()
    click.echo(f"Active profile: {profile}", err=True)

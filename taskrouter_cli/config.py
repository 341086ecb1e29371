"""Settings: where trcli finds credentials and defaults.

Resolution order for every setting: command-line option > environment variable > the active
profile in ``$TRCLI_HOME/config.toml`` > built-in default.

The config file holds named profiles and the name of the active one::

    active = "default"

    [profiles.default]
    account_sid = "AC..."
    auth_token = "..."
    workspace = "TaskRouter Quickstart"

It is written with mode 0600 because it may hold secrets. A broken file is an error that names
the file and, where it can, the key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskrouter_cli.errors import ConfigError, CredentialsError
from taskrouter_cli.sids import is_sid

CONFIG_FILE_NAME = "config.toml"
DEFAULT_PROFILE = "default"
LIVE_API_URL = "https://taskrouter.twilio.com"


@dataclass(frozen=True)
class SettingSpec:
    key: str
    env: str | None
    description: str
    secret: bool = False


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("account_sid", "TWILIO_ACCOUNT_SID", "Twilio Account SID (AC...)"),
    SettingSpec("auth_token", "TWILIO_AUTH_TOKEN", "Twilio auth token", secret=True),
    SettingSpec("api_key", "TWILIO_API_KEY", "API key SID (SK...), used with api_secret"),
    SettingSpec("api_secret", "TWILIO_API_SECRET", "API key secret", secret=True),
    SettingSpec("workspace", "TRCLI_WORKSPACE", "default Workspace (SID or friendly name)"),
    SettingSpec("workflow", "TRCLI_WORKFLOW", "default Workflow (SID or friendly name)"),
    SettingSpec("api_url", "TRCLI_API_URL", "TaskRouter base URL override (e.g. the sandbox)"),
    SettingSpec("ngrok_authtoken", "NGROK_AUTHTOKEN", "ngrok auth token", secret=True),
)
SETTING_BY_KEY: dict[str, SettingSpec] = {spec.key: spec for spec in SETTINGS}
SECRET_KEYS = frozenset(spec.key for spec in SETTINGS if spec.secret)


_app_dir: Callable[[], str] | None = None


def use_app_dir(finder: Callable[[], str]) -> None:
    """Where trcli's folder is when ``TRCLI_HOME`` is not set. The CLI passes
    ``click.get_app_dir`` (the platform's per-user configuration folder), which this layer
    cannot import."""
    global _app_dir
    _app_dir = finder


def trcli_home(environ: Mapping[str, str] | None = None) -> Path:
    """The folder for configuration and state: ``$TRCLI_HOME``, else the platform's per-user
    configuration folder for trcli (given by the CLI, see :func:`use_app_dir`)."""
    env = os.environ if environ is None else environ
    explicit = env.get("TRCLI_HOME")
    if explicit:
        return Path(explicit).expanduser()
    if _app_dir is None:
        raise ConfigError(
            "TRCLI_HOME is not set", "Set it to the folder for trcli's configuration and state"
        )
    return Path(_app_dir())


def home_not_writable(exc: OSError, *, sandbox: bool = False) -> ConfigError | None:
    """The one-line error for an OSError on a path inside trcli's folder, or None."""
    if exc.filename is None:
        return None
    try:
        home = trcli_home()
    except ConfigError:
        return None
    path = Path(os.fsdecode(exc.filename))
    if path != home and home not in path.parents:
        return None
    hint = "Set TRCLI_HOME to a folder you can write to"
    if sandbox:
        hint += ", or run the sandbox with --in-memory or --db PATH"
    return ConfigError(f"Cannot write to trcli's folder {home} ({exc.strerror or exc})", hint)


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    return trcli_home(environ) / CONFIG_FILE_NAME


@dataclass(frozen=True)
class Settings:
    """Every resolved setting, plus where the profile came from."""

    account_sid: str | None = None
    auth_token: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    workspace: str | None = None
    workflow: str | None = None
    api_url: str | None = None
    ngrok_authtoken: str | None = None
    profile: str = DEFAULT_PROFILE
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def uses_api_url_override(self) -> bool:
        return self.api_url is not None and self.api_url.rstrip("/") not in ("", LIVE_API_URL)

    @property
    def has_credentials(self) -> bool:
        return bool(self.account_sid) and (
            bool(self.auth_token) or (bool(self.api_key) and bool(self.api_secret))
        )

    def require_credentials(self) -> None:
        """Raise a CredentialsError saying exactly what is missing and how to provide it."""
        if not self.account_sid:
            raise CredentialsError(
                "No Twilio Account SID configured",
                "Set TWILIO_ACCOUNT_SID, run 'trcli config set account_sid AC...', "
                "or start a sandbox and run 'eval \"$(trcli sandbox env)\"'",
            )
        if self.auth_token:
            return
        if self.api_key and self.api_secret:
            return
        if self.api_key and not self.api_secret:
            raise CredentialsError(
                "TWILIO_API_KEY is set but TWILIO_API_SECRET is missing",
                "Set TWILIO_API_SECRET or run 'trcli config set api_secret'",
            )
        raise CredentialsError(
            "No Twilio auth token or API key configured",
            "Set TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET), "
            "or run 'trcli config set auth_token'",
        )

    def masked(self) -> dict[str, str | None]:
        """Every setting with secrets masked, for display."""
        return {
            spec.key: mask_secret(getattr(self, spec.key))
            if spec.secret
            else getattr(self, spec.key)
            for spec in SETTINGS
        }


def mask_secret(value: str | None) -> str | None:
    """Show that a secret is set without showing it: at most its last 4 characters."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


@dataclass
class ConfigFile:
    """The parsed config file: the active profile's name and every profile's settings."""

    path: Path
    active: str | None = None
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ConfigFile:
        if not path.exists():
            return cls(path=path)
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on Python 3.10 only
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"Config file {path} is not valid TOML ({exc})",
                "Fix the file or delete it and run 'trcli config set' again",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Cannot read config file {path}: {exc}") from None
        return cls._from_toml(path, raw)

    @classmethod
    def _from_toml(cls, path: Path, raw: dict[str, Any]) -> ConfigFile:
        config = cls(path=path)
        for key, value in raw.items():
            if key == "active":
                if not isinstance(value, str):
                    raise ConfigError(f"Config file {path}: key 'active' must be a string")
                config.active = value
            elif key == "profiles":
                if not isinstance(value, dict):
                    raise ConfigError(f"Config file {path}: 'profiles' must be a table")
                for name, body in value.items():
                    config.profiles[name] = _validate_profile(path, name, body)
            else:
                raise ConfigError(
                    f"Config file {path}: unknown key '{key}'",
                    "Only 'active' and [profiles.<name>] tables are allowed",
                )
        return config

    def save(self) -> None:
        import tomli_w

        document: dict[str, Any] = {}
        if self.active:
            document["active"] = self.active
        document["profiles"] = {name: dict(body) for name, body in self.profiles.items()}
        from taskrouter_cli.guards.private_files import make_private_dir

        make_private_dir(self.path.parent)
        data = tomli_w.dumps(document)
        temporary = self.path.with_name(self.path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)

    def profile(self, name: str) -> dict[str, str]:
        return self.profiles.get(name, {})


def _validate_profile(path: Path, name: str, body: object) -> dict[str, str]:
    if not isinstance(body, dict):
        raise ConfigError(f"Config file {path}: [profiles.{name}] must be a table")
    clean: dict[str, str] = {}
    for key, value in body.items():
        if key not in SETTING_BY_KEY:
            raise ConfigError(
                f"Config file {path}: unknown key '{key}' in [profiles.{name}]",
                f"Known keys: {', '.join(SETTING_BY_KEY)}",
            )
        if not isinstance(value, str):
            raise ConfigError(
                f"Config file {path}: key '{key}' in [profiles.{name}] must be a string"
            )
        clean[key] = value
    return clean


def validate_setting(key: str, value: str) -> str:
    """Check one setting's value before it is stored; returns the cleaned value."""
    if key not in SETTING_BY_KEY:
        raise ConfigError(
            f"Unknown setting '{key}'", f"Known settings: {', '.join(SETTING_BY_KEY)}"
        )
    value = value.strip()
    if not value:
        raise ConfigError(f"Setting '{key}' cannot be empty", f"Use 'trcli config unset {key}'")
    if key == "account_sid" and not is_sid(value, "AC"):
        raise ConfigError(
            f"'{value}' is not an Account SID", "Account SIDs are AC followed by 32 hex digits"
        )
    if key == "api_key" and not is_sid(value, "SK"):
        raise ConfigError(
            f"'{value}' is not an API key SID", "API key SIDs are SK followed by 32 hex digits"
        )
    if key == "api_url" and not value.startswith(("http://", "https://")):
        raise ConfigError(
            f"api_url '{value}' must start with http:// or https://",
            "For the sandbox use e.g. http://127.0.0.1:4010",
        )
    return value


def load_settings(
    overrides: Mapping[str, str | None] | None = None,
    *,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: overrides (options) > environment > profile > default."""
    env = os.environ if environ is None else environ
    config = ConfigFile.load(config_path(env))
    profile_name = profile or env.get("TRCLI_PROFILE") or config.active or DEFAULT_PROFILE
    explicit = profile or env.get("TRCLI_PROFILE")
    if explicit and profile_name not in config.profiles and profile_name != DEFAULT_PROFILE:
        known = ", ".join(sorted(config.profiles)) or "none yet"
        raise ConfigError(
            f"No profile named '{profile_name}' in {config.path}",
            f"Known profiles: {known}; create one with "
            f"'trcli config set KEY VALUE --profile {profile_name}'",
        )
    stored = config.profile(profile_name)
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    given = overrides or {}
    for spec in SETTINGS:
        option_value = given.get(spec.key)
        if option_value:
            values[spec.key], sources[spec.key] = option_value, "option"
        elif spec.env and env.get(spec.env):
            values[spec.key], sources[spec.key] = env[spec.env], f"env {spec.env}"
        elif stored.get(spec.key):
            values[spec.key], sources[spec.key] = stored[spec.key], f"profile {profile_name}"
    return Settings(profile=profile_name, sources=sources, **values)

"""The per-invocation state every command shares: settings, client, name resolver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from taskrouter_cli.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


class AppContext:
    """Built once by the root command; commands reach it with ``@pass_app``."""

    def __init__(self, *, profile: str | None = None, debug: bool = False) -> None:
        self.profile = profile
        self.debug = debug
        self.overrides: dict[str, str | None] = {}
        self._settings: Settings | None = None
        self._client: Any = None
        self._resolver: Any = None
        self._workspace: Any = None

    def use_profile(self, profile: str | None) -> None:
        """Select the profile (before settings are first read)."""
        if profile:
            self.profile = profile
            self._settings = None
            self._client = self._resolver = self._workspace = None

    def override(self, key: str, value: str | None) -> None:
        """Record a setting given as a command-line option (before settings are first read)."""
        if value:
            self.overrides[key] = value
            self._settings = None
            self._client = self._resolver = self._workspace = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.overrides, profile=self.profile)
        return self._settings

    @property
    def client(self) -> Any:
        """The twilio REST client (live Twilio or the API URL override)."""
        if self._client is None:
            from taskrouter_cli.client import make_client

            self._client = make_client(self.settings)
        return self._client

    @property
    def resolver(self) -> Any:
        if self._resolver is None:
            from taskrouter_cli.resolve import Resolver

            self._resolver = Resolver(self.client)
        return self._resolver

    @property
    def workspace(self) -> Any:
        """The selected Workspace instance (option > env > profile > the only one)."""
        if self._workspace is None:
            self._workspace = self.resolver.workspace(self.settings.workspace)
        return self._workspace

    @property
    def workspace_sid(self) -> str:
        return str(self.workspace.sid)

    @property
    def workspace_api(self) -> Any:
        """``client.taskrouter.v1.workspaces(<selected workspace>)``."""
        return self.client.taskrouter.v1.workspaces(self.workspace_sid)


pass_app = click.make_pass_decorator(AppContext)


def _store_override(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value:
            ctx.ensure_object(AppContext).override(key, value)
        return value

    return callback


def workspace_option(function: F) -> F:
    """``--workspace NAME|SID``: which Workspace the command works in."""
    return cast(
        F,
        click.option(
            "--workspace",
            "-w",
            metavar="NAME|SID",
            expose_value=False,
            callback=_store_override("workspace"),
            help="Workspace (SID or friendly name). Default: TRCLI_WORKSPACE, the profile, "
            "or the account's only Workspace.",
        )(function),
    )


def json_option(function: F) -> F:
    """``--json``: print machine-readable JSON (SDK field names) and nothing else on stdout."""
    return cast(
        F,
        click.option("--json", "as_json", is_flag=True, help="Print JSON (SDK field names) only.")(
            function
        ),
    )

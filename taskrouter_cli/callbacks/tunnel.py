"""An https tunnel to the local callback server, through ngrok (the pyngrok package).

:func:`open_tunnel` returns a :class:`Tunnel` whose ``public_url`` is the https URL TaskRouter
calls; ``close()`` disconnects it and stops the ngrok agent trcli started.

The ngrok auth token comes from ``NGROK_AUTHTOKEN`` or the trcli profile (``trcli config set
ngrok_authtoken``), else from ngrok's own config file (``ngrok config add-authtoken``). It is
handed to the agent in its environment and never on its command line, where any local user
could read it (``ps``). An ``ngrok`` already on ``PATH`` is used before pyngrok's download.

Every failure becomes one :class:`TunnelError` line that says how to fix it: no token, the agent
cannot be downloaded, ERR_NGROK_108 (another agent session is running), ERR_NGROK_4018 and
friends (the token is refused), anything else ngrok reports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from taskrouter_cli.errors import CredentialsError, NetworkError, TrcliError
from taskrouter_cli.guards.origin import is_loopback_host

TOKEN_HINT = (
    "Set NGROK_AUTHTOKEN or run 'trcli config set ngrok_authtoken', which prompts for it (find "
    "it in your ngrok dashboard under 'Your Authtoken'), or expose the server another way and "
    "pass --public-url"
)
AUTH_ERROR_CODES = frozenset({"ERR_NGROK_105", "ERR_NGROK_107", "ERR_NGROK_4018"})


class TunnelError(NetworkError):
    """The tunnel could not be opened; one line with the fix."""


class TunnelCredentialsError(CredentialsError):
    """No ngrok auth token, or ngrok refused it."""


@dataclass
class Tunnel:
    public_url: str
    _ngrok_url: str = ""
    _config: Any = None
    _owned_agent: bool = True

    def close(self) -> str | None:
        """Disconnect and stop the agent; returns a warning line instead of raising."""
        from pyngrok import ngrok
        from pyngrok.exception import PyngrokError

        try:
            ngrok.disconnect(self._ngrok_url or self.public_url, pyngrok_config=self._config)
        except (PyngrokError, OSError) as exc:
            return f"Could not close the ngrok tunnel {self.public_url}: {_one_line(exc)}"
        finally:
            if self._owned_agent:
                try:
                    ngrok.kill(pyngrok_config=self._config)
                except (PyngrokError, OSError):
                    pass
        return None


_SILENT = logging.NullHandler()


class _LineEndTracker:
    """A text stream writing to ``target`` that remembers whether its last line was ended."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self._open_line = False

    def write(self, text: str) -> int:
        if text:
            self._open_line = not text.endswith("\n")
        return int(self._target.write(text))

    def flush(self) -> None:
        self._target.flush()

    def end_line(self) -> None:
        if self._open_line:
            self._target.write("\n")
            self._open_line = False


def upstream_host(host: str) -> str:
    """The address the agent forwards to, for a server listening on ``host``."""
    if host in ("0.0.0.0", "", "localhost"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _ngrok_config_has_token(config: Any) -> bool:
    from pyngrok import conf

    try:
        path = Path(conf.get_config_path(config))
        return path.is_file() and "authtoken" in path.read_text(encoding="utf-8", errors="replace")
    except (OSError, TypeError, ValueError):
        return False


def make_config() -> Any:
    """A PyngrokConfig that keeps the token off the agent's command line."""
    from pyngrok import conf

    config = conf.PyngrokConfig(monitor_thread=False)
    config.auth_token = None  # pyngrok would pass it as --authtoken; the environment is used
    installed = shutil.which("ngrok")
    if installed and "PYNGROK_NGROK_PATH" not in os.environ:
        config.ngrok_path = installed
    return config


def describe_error(exc: BaseException, port: int = 8080) -> TrcliError:
    """The one-line error for a pyngrok exception (``exc`` is any pyngrok error) for a tunnel
    to local ``port``."""
    from pyngrok.exception import PyngrokNgrokError, PyngrokNgrokInstallError

    if isinstance(exc, PyngrokNgrokInstallError):
        return TunnelError(
            f"Cannot download the ngrok agent ({_one_line(exc)})",
            "Install ngrok so it is on PATH (or set PYNGROK_NGROK_PATH to it) and retry, "
            "or expose the server another way and pass --public-url",
        )
    if isinstance(exc, PyngrokNgrokError):
        code = getattr(exc, "ngrok_error_code", None)
        detail = _one_line(getattr(exc, "ngrok_error", None) or exc)
        if code == "ERR_NGROK_108":
            return TunnelError(
                "ngrok refused the tunnel: another ngrok agent session is already running on "
                "this account (ERR_NGROK_108)",
                "Stop the other ngrok (free accounts allow one session), or keep it and pass "
                "its https URL with --public-url",
            )
        if code in AUTH_ERROR_CODES:
            return TunnelCredentialsError(
                f"ngrok refused the auth token ({code}): {detail}",
                "Check NGROK_AUTHTOKEN / 'trcli config set ngrok_authtoken' against your "
                "ngrok dashboard",
            )
        suffix = f" ({code})" if code and code not in detail else ""
        return TunnelError(
            f"ngrok failed: {detail}{suffix}",
            f"Run 'ngrok http {port}' by hand to see its full error, or use --public-url",
        )
    return TunnelError(f"ngrok failed: {_one_line(exc)}", "Retry, or use --public-url")


def open_tunnel(port: int, *, auth_token: str | None, host: str = "127.0.0.1") -> Tunnel:
    """Open an https tunnel to ``host:port``; raises :class:`TunnelError` (one line)."""
    from pyngrok import ngrok
    from pyngrok.exception import PyngrokError

    config = make_config()
    if auth_token:
        os.environ["NGROK_AUTHTOKEN"] = auth_token  # inherited by the agent process only
    elif not _ngrok_config_has_token(config):
        raise TunnelCredentialsError("No ngrok auth token: --tunnel needs one", TOKEN_HINT)
    address = f"http://{upstream_host(host)}:{port}"
    if not os.path.exists(config.ngrok_path):
        sys.stderr.write(
            f"The first tunnel downloads the ngrok agent to {config.ngrok_path} "
            "(install ngrok beforehand to skip this)\n"
        )
    progress = _LineEndTracker(sys.stderr)
    quiet = logging.getLogger("pyngrok")
    quiet.addHandler(_SILENT)  # its ERROR lines and tracebacks would flood stderr
    try:
        # pyngrok prints its download progress on stdout; keep stdout for data (serve --json).
        with contextlib.redirect_stdout(progress):
            tunnel = ngrok.connect(address, "http", pyngrok_config=config)
    except PyngrokError as exc:
        raise describe_error(exc, port) from None
    except OSError as exc:  # e.g. the agent binary exists but cannot be executed
        raise TunnelError(f"Cannot start the ngrok agent: {_one_line(exc)}") from None
    finally:
        progress.end_line()  # "Downloading ngrok ..." ends its line before any error
    reported = str(getattr(tunnel, "public_url", "") or "")
    if not reported:
        raise TunnelError("ngrok opened a tunnel but reported no public URL", "Retry")
    public_url = reported
    if public_url.startswith("http://") and not is_loopback_host(urlsplit(public_url).netloc):
        # ngrok serves both; TaskRouter should use https (a loopback test agent has no TLS)
        public_url = "https://" + public_url[len("http://") :]
    return Tunnel(public_url=public_url.rstrip("/"), _ngrok_url=reported, _config=config)

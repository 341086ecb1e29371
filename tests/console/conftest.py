"""The agent console in a real browser: Debian's chromium driven by Playwright for Python.

Playwright's own browser download cannot work here, so it launches ``/usr/bin/chromium``
(``.ci/run`` installs it with apt-get). A machine without it fails these tests with the reason,
rather than skipping them.

* ``browser``: one headless chromium per test module.
* ``console``: a sandbox with the quickstart, ``trcli serve --ui``'s CallbackServer on a free
  loopback port with the Workflow pointed at it, and helpers to wait for TaskRouter's state.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from taskrouter_cli.callbacks.app import CallbackServer, ServerConfig
from taskrouter_cli.callbacks.console import Console
from taskrouter_cli.callbacks.instructions import DEFER, Reply
from taskrouter_cli.callbacks.log import CallbackRecorder, callback_log_path
from taskrouter_cli.callbacks.wiring import CallbackWiring
from tests.serve.test_sandbox_flows import WORKFLOW, Quickstart

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000
"""How long a wait for the page may take: a bound, not a pace (a passing wait returns as soon
as the page shows it); chromium on a loaded 2-core machine needs more than 5 s at times."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed: pip install '.[test]'")
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"No browser at {CHROMIUM}: the console is tested in Debian's chromium "
            "(apt-get install chromium; .ci/run does it)"
        )
    with tempfile.TemporaryDirectory(prefix="trcli-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        yield page
    finally:
        page.close()


def sdk_for(sandbox: Any) -> Any:
    """A twilio Client of its own for the console (it calls from its worker thread)."""
    from twilio.rest import Client

    from taskrouter_cli.client import api_url_http_client

    client = Client(
        sandbox.account_sid, sandbox.auth_token, http_client=api_url_http_client(sandbox.base_url)
    )
    client.region = None
    client.edge = None
    return client.taskrouter.v1.workspaces(sandbox.workspace_sid)


def error_words(sandbox: Any) -> Callable[[BaseException], str | None]:
    """What ``trcli serve --ui`` gives the console: the CLI's one-line errors for the sandbox."""
    from taskrouter_cli.client import translate_exception
    from taskrouter_cli.config import load_settings

    settings = load_settings(
        {
            "account_sid": sandbox.account_sid,
            "auth_token": sandbox.auth_token,
            "api_url": sandbox.base_url,
        }
    )

    def describe(exc: BaseException) -> str | None:
        error = translate_exception(exc, settings)
        return error.one_line() if error is not None else None

    return describe


@dataclass
class RunningConsole:
    quickstart: Quickstart
    server: CallbackServer
    console: Console

    @property
    def url(self) -> str:
        return self.server.local_base() + "/"

    def open(self, page: Any) -> None:
        """Load the page and wait until its event stream is live."""
        page.goto(self.url)
        page.wait_for_selector("body[data-live='yes']")
        page.evaluate("window.trcliNotReloaded = true")

    def reservation_appears(self, page: Any) -> tuple[Any, str]:
        """The first reservation card, once it appears; and its WR SID."""
        card = page.wait_for_selector("[data-reservation-sid]")
        return card, str(card.get_attribute("data-reservation-sid"))

    def task(self, task_sid: str) -> Any:
        return self.quickstart.workspace.tasks(task_sid).fetch()

    def reservation(self, task_sid: str, reservation_sid: str) -> Any:
        return self.quickstart.workspace.tasks(task_sid).reservations(reservation_sid).fetch()


@pytest.fixture
def quickstart(sandbox: Any, sdk_client: Any) -> Quickstart:
    return Quickstart(sandbox, sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid))


@pytest.fixture
def start_console(quickstart: Quickstart) -> Iterator[Callable[..., RunningConsole]]:
    started: list[tuple[CallbackServer, CallbackWiring]] = []

    def start(reply: Reply = DEFER, **config: Any) -> RunningConsole:
        sandbox = quickstart.sandbox
        console = Console(
            sdk_for(sandbox),
            describe_error=error_words(sandbox),
            reply_description=reply.describe(),
        )
        settings: dict[str, Any] = {
            "port": 0,
            "auth_token": sandbox.auth_token,
            "reply": reply,
            "console": console,
        }
        settings.update(config)
        server = CallbackServer(
            ServerConfig(**settings), recorder=CallbackRecorder(callback_log_path(), live="off")
        )
        server.start()
        wiring = CallbackWiring(quickstart.workspace)
        started.append((server, wiring))
        wiring.point_workflow(quickstart.sid("workflows", WORKFLOW), server.assignment_url)
        return RunningConsole(quickstart, server, console)

    yield start
    for server, wiring in started:
        wiring.restore()
        server.stop()


@pytest.fixture
def console(start_console: Callable[..., RunningConsole]) -> RunningConsole:
    return start_console()


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Bounded poll of TaskRouter's state (routing runs after the API answers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def pretty(attributes: dict[str, Any]) -> str:
    return json.dumps(attributes, indent=2)


def screenshot_path(tmp_path: Path, name: str) -> Path:
    """Where a screenshot goes: TRCLI_SCREENSHOT_DIR if set (to refresh docs/), else tmp_path."""
    folder = Path(os.environ.get("TRCLI_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name

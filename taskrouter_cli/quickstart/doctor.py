"""``trcli doctor``: is everything in place for the quickstart? Each check is ok, warn or fail
and carries the command that fixes it.

Checks, in order (a failed prerequisite turns the checks that need it into ``skip``):

* ``credentials`` — configured, and accepted by the API (one list request);
* ``workspace`` — the selected one (or the account's only one) exists;
* ``workflow`` — per workflow: its configuration parses with our routing engine and every queue
  it names exists;
* ``callback`` — per workflow: the assignment callback URL is set, http(s), https on live
  Twilio, not a loopback address on live Twilio;
* ``reachable`` — per workflow: when the URL answers ``GET /healthz`` like ``trcli serve``
  does, a signed test assignment callback is sent through it (the reply must be 200 JSON: this
  proves the server checks signatures with this account's token); other servers only need to
  answer HTTP at all;
* ``workers`` — at least one worker is available, and every queue has a matching worker.

The test callback carries made-up SIDs (``WT000…``) and ``TrcliDoctor=1``; ``trcli serve``
logs it like any callback; nothing in TaskRouter changes.
"""

from __future__ import annotations

import json
import shlex
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from taskrouter_cli.config import Settings
from taskrouter_cli.operations.inputs import stored_object

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
HTTP_TIMEOUT = 5.0
PAGE_SIZE = 1000


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]

    @property
    def failed(self) -> bool:
        return any(check.status == FAIL for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": not self.failed, "checks": [check.to_dict() for check in self.checks]}


def _problem(exc: BaseException, settings: Settings) -> tuple[str, str | None]:
    from taskrouter_cli.client import translate_exception

    error = translate_exception(exc, settings)
    if error is None:
        return f"{exc.__class__.__name__}: {exc}", None
    return error.message, error.hint


@dataclass
class HttpAnswer:
    status: int | None
    body: bytes
    content_type: str
    error: str | None = None


def http_request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> HttpAnswer:
    """One HTTP request with a short time limit; network problems come back as ``error``."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return HttpAnswer(
                response.status, response.read(65536), response.headers.get("Content-Type", "")
            )
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, exc.read(65536), exc.headers.get("Content-Type", ""))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return HttpAnswer(None, b"", "", str(reason))


def sample_callback_params(
    workspace_sid: str, workflow_sid: str, account_sid: str
) -> dict[str, str]:
    zeros = "0" * 32
    return {
        "AccountSid": account_sid,
        "WorkspaceSid": workspace_sid,
        "WorkflowSid": workflow_sid,
        "TaskQueueSid": "WQ" + zeros,
        "TaskSid": "WT" + zeros,
        "ReservationSid": "WR" + zeros,
        "WorkerSid": "WK" + zeros,
        "TaskAttributes": json.dumps({"trcli_doctor": True}),
        "WorkerAttributes": "{}",
        "TaskAge": "0",
        "TaskPriority": "0",
        "Timestamp": str(int(time.time())),
        "TrcliDoctor": "1",
    }


def _health_url(callback_url: str) -> str:
    parts = urlsplit(callback_url)
    path = parts.path.rsplit("/", 1)[0] + "/healthz"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class Doctor:
    def __init__(
        self,
        settings: Settings,
        make_client: Callable[[Settings], Any],
        request: Callable[..., HttpAnswer] = http_request,
    ) -> None:
        self.settings = settings
        self.make_client = make_client
        self.request = request
        self.checks: list[Check] = []
        self.live = not settings.uses_api_url_override

    def add(self, name: str, status: str, detail: str, fix: str | None = None) -> None:
        self.checks.append(Check(name, status, detail, fix))

    def run(self) -> DoctorReport:
        client = self.credentials()
        workspace = self.workspace(client) if client is not None else None
        if workspace is None:
            for name in ("workflow", "callback", "workers"):
                self.add(name, SKIP, "needs a working workspace check first")
            return DoctorReport(tuple(self.checks))
        ws = client.taskrouter.v1.workspaces(workspace.sid)
        queues = {str(q.sid): q for q in ws.task_queues.stream(page_size=PAGE_SIZE)}
        workflows = list(ws.workflows.stream(page_size=PAGE_SIZE))
        if not workflows:
            self.add(
                "workflow",
                FAIL,
                f"Workspace {workspace.friendly_name} has no workflow",
                "trcli setup",
            )
        for workflow in workflows:
            self.workflow(workflow, queues)
            self.callback(workspace, workflow)
        self.workers(ws, queues)
        return DoctorReport(tuple(self.checks))

    # -- checks -----------------------------------------------------------------------------
    def credentials(self) -> Any:
        settings = self.settings
        where = f"the sandbox at {settings.api_url}" if not self.live else "live Twilio"
        if not settings.has_credentials:
            try:
                settings.require_credentials()
            except Exception as exc:  # noqa: BLE001 - doctor reports every failure as a check
                message, hint = _problem(exc, settings)
                self.add("credentials", FAIL, message, hint)
                return None
        try:
            client = self.make_client(settings)
            count = len(client.taskrouter.v1.workspaces.list(limit=50))
        except Exception as exc:  # noqa: BLE001 - doctor reports every failure as a check
            message, hint = _problem(exc, settings)
            self.add("credentials", FAIL, message, hint)
            return None
        source = settings.sources.get("account_sid", "?")
        self.add(
            "credentials",
            OK,
            f"{settings.account_sid} ({source}) accepted by {where}; {count} workspace(s)",
        )
        return client

    def workspace(self, client: Any) -> Any:
        from taskrouter_cli.resolve import Resolver

        try:
            workspace = Resolver(client).workspace(self.settings.workspace)
        except Exception as exc:  # noqa: BLE001 - doctor reports every failure as a check
            message, hint = _problem(exc, self.settings)
            self.add("workspace", FAIL, message, hint or "trcli setup")
            return None
        mode = "multi-tasking" if workspace.multi_task_enabled else "single-tasking"
        self.add("workspace", OK, f"{workspace.friendly_name} ({workspace.sid}), {mode}")
        return workspace

    def workflow(self, workflow: Any, queues: dict[str, Any]) -> None:
        from taskrouter_cli.routing.workflow import (
            WorkflowConfigError,
            parse_workflow_configuration,
        )

        name = str(workflow.friendly_name)
        show = f"trcli workflow show {shlex.quote(name)}"
        try:
            config = parse_workflow_configuration(workflow.configuration or "")
        except WorkflowConfigError as exc:
            self.add("workflow", FAIL, f"{name}: configuration does not parse: {exc}", show)
            return
        missing = [sid for sid in config.queue_sids() if sid not in queues]
        if missing:
            self.add(
                "workflow",
                FAIL,
                f"{name}: routes to queue(s) that do not exist: {', '.join(missing)}",
                "trcli setup (or fix the configuration: " + show + ")",
            )
            return
        default = "a default filter" if config.default_filter else "no default filter"
        self.add("workflow", OK, f"{name}: {len(config.filters)} filter(s), {default}")

    def callback(self, workspace: Any, workflow: Any) -> None:
        name = str(workflow.friendly_name)
        url = str(workflow.assignment_callback_url or "")
        point = f"trcli workflow point-callback {shlex.quote(name)} --url URL"
        serve = "trcli serve --tunnel" if self.live else "trcli serve"
        if not url:
            self.add(
                "callback",
                WARN,
                f"{name}: no assignment callback URL; reservations wait for a REST accept",
                f"{serve}, then {point}",
            )
            return
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.add("callback", FAIL, f"{name}: '{url}' is not an http(s) URL", point)
            return
        from taskrouter_cli.operations.workflows import is_local_host

        if self.live and is_local_host(parts.hostname):
            self.add(
                "callback",
                FAIL,
                f"{name}: {url} points at this machine; Twilio cannot reach it",
                f"trcli serve --tunnel, then {point}",
            )
            return
        if self.live and parts.scheme != "https":
            self.add(
                "callback",
                WARN,
                f"{name}: {url} is plain http; use https so callbacks are encrypted",
                point,
            )
        else:
            self.add("callback", OK, f"{name}: {url}")
        self.reachable(workspace, workflow, url)

    def reachable(self, workspace: Any, workflow: Any, url: str) -> None:
        name = str(workflow.friendly_name)
        health = self.request(_health_url(url))
        is_serve = False
        if health.status == 200:
            try:
                body = json.loads(health.body or b"{}")
                is_serve = isinstance(body, dict) and body.get("status") == "ok"
                is_serve = is_serve and "assignment_url" in body
            except ValueError:
                is_serve = False
        if not is_serve:
            self.reachable_other(name, url)
            return
        token = self.settings.auth_token
        if not token:
            self.add(
                "reachable",
                WARN,
                f"{name}: trcli serve answers at {url}, but a test callback cannot be signed "
                "without an auth token (API key credentials are in use)",
                "Set TWILIO_AUTH_TOKEN to let doctor sign a test callback",
            )
            return
        from twilio.request_validator import RequestValidator

        params = sample_callback_params(
            str(workspace.sid), str(workflow.sid), str(self.settings.account_sid)
        )
        signature = RequestValidator(token).compute_signature(url, params)
        answer = self.request(
            url,
            data=urlencode(params).encode(),
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        self.judge_test_answer(name, url, answer)

    def judge_test_answer(self, name: str, url: str, answer: HttpAnswer) -> None:
        if answer.status == 200 and answer.content_type.startswith("application/json"):
            try:
                reply = json.loads(answer.body or b"{}")
            except ValueError:
                reply = None
            if isinstance(reply, dict):
                what = reply.get("instruction", "defer ({})")
                self.add("reachable", OK, f"{name}: signed test callback answered: {what}")
                return
        if answer.status == 403:
            detail = _error_text(answer)
            self.add(
                "reachable",
                FAIL,
                f"{name}: trcli serve refused the signed test callback ({detail})",
                "Start trcli serve with this account's credentials (and --public-url set to "
                "the URL the workflow uses)",
            )
            return
        self.add(
            "reachable",
            FAIL,
            f"{name}: test callback to {url} got {answer.status or answer.error}: "
            f"{_error_text(answer)}",
            "Check the trcli serve window for the error",
        )

    def reachable_other(self, name: str, url: str) -> None:
        answer = self.request(url)
        if answer.status is None:
            serve = "trcli serve --tunnel" if self.live else "trcli serve"
            self.add(
                "reachable",
                FAIL,
                f"{name}: {url} cannot be reached ({answer.error})",
                f"Start the callback server ({serve}) or point the workflow at a running one",
            )
        elif answer.status >= 500:
            self.add("reachable", WARN, f"{name}: {url} answers HTTP {answer.status}", None)
        else:
            self.add(
                "reachable",
                OK,
                f"{name}: {url} answers HTTP {answer.status} (not trcli serve: no test callback "
                "sent)",
            )

    def workers(self, ws: Any, queues: dict[str, Any]) -> None:
        from taskrouter_cli.routing.expressions import ExpressionError, parse_expression

        workers = list(ws.workers.stream(page_size=PAGE_SIZE))
        if not workers:
            self.add("workers", FAIL, "The workspace has no workers", "trcli setup")
            return
        available = [str(w.friendly_name) for w in workers if w.available]
        if available:
            self.add("workers", OK, f"available: {', '.join(available)} (of {len(workers)})")
        else:
            idle = next(
                (
                    str(a.friendly_name)
                    for a in ws.activities.stream(page_size=PAGE_SIZE)
                    if a.available
                ),
                "Idle",
            )
            first = shlex.quote(str(workers[0].friendly_name))
            self.add(
                "workers",
                WARN,
                f"no worker is available (of {len(workers)}): new tasks will wait",
                f"trcli worker set-activity {first} {shlex.quote(idle)}",
            )
        for queue in queues.values():
            text = queue.target_workers or "1==1"
            try:
                expression = parse_expression(text)
            except ExpressionError as exc:
                self.add("workers", FAIL, f"queue {queue.friendly_name}: {exc}", None)
                continue
            matching = [
                str(w.friendly_name)
                for w in workers
                if expression.evaluate(stored_object(w.attributes))
            ]
            if not matching:
                self.add(
                    "workers",
                    WARN,
                    f"queue {queue.friendly_name}: no worker matches {text}",
                    "trcli worker update NAME --attributes '{...}'",
                )


def _error_text(answer: HttpAnswer) -> str:
    if answer.error:
        return answer.error
    try:
        body = json.loads(answer.body or b"{}")
    except ValueError:
        return answer.body[:200].decode("utf-8", "replace")
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return answer.body[:200].decode("utf-8", "replace")


def run_doctor(settings: Settings, make_client: Callable[[Settings], Any]) -> DoctorReport:
    """Every check for these settings (``make_client`` is ``taskrouter_cli.client.make_client``)."""
    return Doctor(settings, make_client).run()

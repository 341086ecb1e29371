"""Workflows: validate a configuration locally, describe its routing, point its callback."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from taskrouter_cli.errors import UsageError
from taskrouter_cli.operations.inputs import read_json_argument


def load_configuration(value: str, option: str = "--configuration") -> str:
    """The configuration JSON text (inline or ``@file``), validated like TaskRouter would.

    A problem is a UsageError naming the JSON path, e.g.
    ``task_routing.filters[0].targets[0].queue: ...``.
    """
    from taskrouter_cli.routing.workflow import WorkflowConfigError, parse_workflow_configuration

    text = read_json_argument(value, option)
    try:
        parse_workflow_configuration(text)
    except WorkflowConfigError as exc:
        raise UsageError(
            f"{option} is not a valid workflow configuration: {exc}",
            'Expected {"task_routing": {"filters": [{"expression": "...", '
            '"targets": [{"queue": "WQ..."}]}], "default_filter": {"queue": "WQ..."}}}',
        ) from None
    return text


def routing_lines(configuration: str, queue_names: Mapping[str, str]) -> list[str]:
    """The routing configuration for people: ``filter → targets → queue names``.

    Walks the raw JSON (not the strict parser) so that whatever live TaskRouter stored can be
    shown; a configuration that is not JSON is shown as is.
    """
    try:
        document = json.loads(configuration)
    except ValueError:
        return [configuration]
    routing = document.get("task_routing") if isinstance(document, dict) else None
    if not isinstance(routing, dict):
        return [json.dumps(document, indent=2)]
    lines: list[str] = []
    filters = routing.get("filters") or []
    for index, item in enumerate(filters if isinstance(filters, list) else [], start=1):
        if not isinstance(item, dict):
            continue
        name = item.get("filter_friendly_name") or f"filter {index}"
        lines.append(f"{index}. {name}: {item.get('expression', '?')}")
        targets = item.get("targets") or []
        queue = None
        for step, target in enumerate(targets if isinstance(targets, list) else [], start=1):
            if not isinstance(target, dict):
                continue
            queue = target.get("queue", queue)
            lines.append(f"   → {step}) {_describe_target(target, queue, queue_names)}")
    default = routing.get("default_filter")
    if isinstance(default, dict):
        queue = default.get("queue")
        lines.append(f"default → {_describe_target(default, queue, queue_names)}")
    else:
        lines.append("default → none (tasks matching no filter are not queued)")
    return lines


def _describe_target(target: Mapping[str, Any], queue: Any, names: Mapping[str, str]) -> str:
    label = f"{names[queue]} ({queue})" if queue in names else str(queue or "?")
    extras = []
    for key in ("expression", "priority", "timeout", "order_by", "skip_if"):
        if target.get(key) not in (None, ""):
            value = target[key]
            extras.append(f"{key} {value} s" if key == "timeout" else f"{key} {value}")
    for key in ("known_worker_sid", "known_worker_friendly_name"):
        if target.get(key):
            extras.append(f"{key} {target[key]}")
    return label + (f" [{', '.join(extras)}]" if extras else "")


LOCAL_HOSTS = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_local_host(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    host = host.strip("[]").lower()
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def check_callback_url(url: str, *, live: bool, option: str = "--url") -> str:
    """Refuse non-http(s) URLs, and local ones when talking to live Twilio.

    Live TaskRouter cannot reach ``localhost``/``127.x``/``::1``/``0.0.0.0``; the sandbox can.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{option} '{url}' is not an http(s) URL",
            "Use e.g. https://example.ngrok.app/assignment_callback",
        )
    if live and is_local_host(parts.hostname):
        raise UsageError(
            f"{option} '{url}' points at this machine, which Twilio cannot reach",
            "Expose your callback server with 'trcli serve --tunnel' or pass its "
            "--public-url; local URLs work only against the sandbox",
        )
    return url

"""``trcli workflow``: list, show (routing), create (local validation), update, delete,
point-callback (URL rules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers.cli import Trcli

WORKFLOW = "Incoming Customer Care Requests"


def _queue_sid(trcli: Trcli, name: str) -> str:
    return str(trcli("queue", "show", name, "--json").ok().json()["sid"])


def test_list_and_show(trcli: Trcli) -> None:
    listed = trcli("workflow", "list", "--json").ok().json()
    assert [w["friendly_name"] for w in listed] == [WORKFLOW]
    assert WORKFLOW in trcli("workflow", "list").ok().stdout
    shown = trcli("workflow", "show", WORKFLOW).ok().stdout
    assert 'Language - Spanish: selected_language == "es"' in shown
    assert "→ 1) Customer Care Requests - Spanish (WQ" in shown
    assert "default → none" in shown
    data = trcli("workflow", "show", WORKFLOW, "--json").ok().json()
    assert data["task_reservation_timeout"] == 1200
    assert json.loads(data["configuration"])["task_routing"]["filters"]


def test_create_update_delete(trcli: Trcli, tmp_path: Path) -> None:
    english = _queue_sid(trcli, "Customer Care Requests - English")
    config = {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "VIP",
                    "expression": "vip == true",
                    "targets": [{"queue": english, "priority": 10, "timeout": 30}],
                }
            ],
            "default_filter": {"queue": english},
        }
    }
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    created = trcli(
        "workflow",
        "create",
        "VIP",
        "--configuration",
        f"@{path}",
        "--callback-url",
        "http://127.0.0.1:9/assignment",
        "--reservation-timeout",
        "60",
        "--json",
    )
    data = created.ok().json()
    assert data["task_reservation_timeout"] == 60
    assert data["assignment_callback_url"] == "http://127.0.0.1:9/assignment"
    shown = trcli("workflow", "show", "VIP").ok().stdout
    assert "Customer Care Requests - English (WQ" in shown and "priority 10" in shown
    assert "timeout 30 s" in shown and "default → Customer Care Requests - English" in shown
    updated = trcli("workflow", "update", "VIP", "--name", "VIP 2", "--reservation-timeout", "90")
    assert updated.ok().stdout.count("VIP 2") >= 1
    refused = trcli("workflow", "delete", "VIP 2")
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    trcli("workflow", "delete", "VIP 2", "--yes").ok()
    assert [w["friendly_name"] for w in trcli("workflow", "list", "--json").ok().json()] == [
        WORKFLOW
    ]


def test_invalid_configuration_names_the_path(trcli: Trcli) -> None:
    config = json.dumps({"task_routing": {"filters": [{"expression": "a == 1", "targets": [{}]}]}})
    outcome = trcli("workflow", "create", "Broken", "--configuration", config)
    assert outcome.exit_code == 2
    assert "task_routing.filters[0].targets[0]" in outcome.stderr
    not_json = trcli("workflow", "create", "Broken", "--configuration", "{nope")
    assert not_json.exit_code == 2 and "not valid JSON" in not_json.stderr
    nothing = trcli("workflow", "update", WORKFLOW)
    assert nothing.exit_code == 2 and "Nothing to update" in nothing.stderr


def test_point_callback_prints_old_and_new(trcli: Trcli) -> None:
    first = trcli("workflow", "point-callback", WORKFLOW, "--url", "http://127.0.0.1:8080/a")
    assert "new assignment callback: http://127.0.0.1:8080/a" in first.ok().stdout
    second = trcli(
        "workflow",
        "point-callback",
        WORKFLOW,
        "--url",
        "https://example.com/b",
        "--fallback-url",
        "https://example.com/c",
    ).ok()
    assert "old assignment callback: http://127.0.0.1:8080/a" in second.stdout
    assert "new assignment callback: https://example.com/b" in second.stdout
    data = trcli("workflow", "show", WORKFLOW, "--json").ok().json()
    assert data["fallback_assignment_callback_url"] == "https://example.com/c"


def test_point_callback_url_rules(trcli: Trcli, sandbox: Any) -> None:
    scheme = trcli("workflow", "point-callback", WORKFLOW, "--url", "ftp://example.com/x")
    assert scheme.exit_code == 2 and "is not an http(s) URL" in scheme.stderr
    live_env = {
        "TRCLI_API_URL": "",
        "TWILIO_ACCOUNT_SID": sandbox.account_sid,
        "TWILIO_AUTH_TOKEN": "secret",
    }
    for url in (
        "http://localhost:8080/cb",
        "http://127.0.0.2/cb",
        "http://[::1]:80/cb",
        "http://0.0.0.0/cb",
    ):
        live = trcli("workflow", "point-callback", WORKFLOW, "--url", url, env=live_env)
        assert live.exit_code == 2, url
        assert "Twilio cannot reach" in live.stderr and "trcli serve --tunnel" in live.stderr

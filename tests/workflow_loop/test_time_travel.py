"""The loop against a real ``trcli sandbox --time-travel`` process: ``workflow test`` reads the
sandbox's clock, and its timeline is what happens when ``trcli sandbox advance`` moves it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers.cli import invoke
from tests.sandbox_api.test_sandbox_options import running_sandbox  # noqa: F401 - a fixture

ESCALATION = {
    "workspace": {"name": "TaskRouter Quickstart"},
    "workflows": [
        {
            "name": "Escalation",
            "configuration": {
                "task_routing": {
                    "filters": [
                        {
                            "expression": 'selected_language == "es"',
                            "targets": [
                                {"queue": "Customer Care Requests - Spanish", "timeout": 60},
                                {"queue": "Customer Care Requests - English", "timeout": 60},
                            ],
                        }
                    ]
                }
            },
        }
    ],
}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("running_sandbox", [["--time-travel"]], indirect=True)
def test_the_timeline_is_what_sandbox_advance_then_shows(
    running_sandbox: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    env = running_sandbox
    path = tmp_path / "escalation.json"
    path.write_text(json.dumps(ESCALATION))
    invoke(["workspace", "apply", str(path)], env).ok()
    attributes = ["--attributes", '{"selected_language": "es"}']
    dry = invoke(["workflow", "test", "Escalation", *attributes, "--json"], env).ok().json()
    assert [(s["age"], s["event"], s["queue"]) for s in dry["timeline"]] == [
        (0, "wait", "Customer Care Requests - Spanish"),
        (60, "wait", "Customer Care Requests - English"),
        (120, "workflow-timeout", None),
    ]
    task = invoke(["task", "create", "--workflow", "Escalation", *attributes, "--json"], env)
    task_sid = task.ok().json()["sid"]
    url = ["--url", env["TRCLI_API_URL"]]
    invoke(["sandbox", "settle", *url], env).ok()

    def show() -> dict[str, str]:
        return invoke(["task", "show", task_sid, "--json"], env).ok().json()

    assert show()["task_queue_friendly_name"] == "Customer Care Requests - Spanish"
    invoke(["sandbox", "advance", "60", *url], env).ok()
    invoke(["sandbox", "settle", *url], env).ok()
    assert show()["task_queue_friendly_name"] == "Customer Care Requests - English"
    later = invoke(["workflow", "test", "Escalation", *attributes, "--json"], env).ok().json()
    assert (when(later["at"]) - when(dry["at"])).total_seconds() >= 60  # the sandbox's clock
    invoke(["sandbox", "advance", "60", *url], env).ok()
    invoke(["sandbox", "settle", *url], env).ok()
    assert (show()["assignment_status"], show()["reason"]) == ("canceled", "Workflow Timeout")

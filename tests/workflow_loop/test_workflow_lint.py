"""``trcli workflow lint`` catches each kind of problem, with a path into the configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import Outcome, Trcli, invoke
from tests.workflow_loop.conftest import LAB, Lab

CHECK_FAILED = 6


@pytest.fixture
def queue_sids(sdk_client: Any, sandbox: Any) -> dict[str, str]:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    return {
        "es": next(q.sid for q in ws.task_queues.list() if q.friendly_name.endswith("Spanish")),
        "en": next(q.sid for q in ws.task_queues.list() if q.friendly_name.endswith("English")),
    }


def lint_file(trcli: Trcli, tmp_path: Path, document: Any, *options: str) -> Outcome:
    path = tmp_path / "workflow.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return trcli("workflow", "lint", "--file", str(path), "--json", *options)


def routing(*filters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"task_routing": {"filters": list(filters), **extra}}


def findings(outcome: Outcome) -> list[tuple[str, str, str]]:
    return [(f["severity"], f["code"], f["path"]) for f in outcome.json()["findings"]]


def test_the_quickstart_workflow_is_clean(trcli: Trcli) -> None:
    out = trcli("workflow", "lint", "Incoming Customer Care Requests")
    assert out.exit_code == 0, out
    assert "no problems found" in out.stderr
    data = trcli("workflow", "lint", "--json").ok().json()  # the workspace's only workflow
    assert data["clean"] is True and data["findings"] == []
    assert data["workflow"]["name"] == "Incoming Customer Care Requests"


def test_the_routing_lab_is_clean(trcli: Trcli, routing_lab: Lab) -> None:
    assert trcli("workflow", "lint", LAB, "--json").ok().json()["findings"] == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{not json", [("error", "schema", "configuration")]),
        (
            {"task_routing": {"filters": [{"expression": "1==1", "target": []}]}},
            [("error", "schema", "task_routing.filters[0].targets")],
        ),
        (
            {"task_routing": {"filters": [], "default_filter": {"queue": "Spanish"}}},
            [("error", "schema", "task_routing.default_filter.queue")],
        ),
    ],
    ids=["not JSON", "a typo for targets", "a queue name instead of a SID"],
)
def test_schema_problems(trcli: Trcli, tmp_path: Path, document: Any, expected: Any) -> None:
    out = lint_file(trcli, tmp_path, document)
    assert out.exit_code == CHECK_FAILED, out
    assert findings(out) == expected


def test_an_unknown_key_is_an_error_with_a_suggestion(
    trcli: Trcli, tmp_path: Path, queue_sids: dict[str, str]
) -> None:
    document = routing(
        {"expression": "1==1", "targets": [{"queue": queue_sids["en"], "timout": 10}]}
    )
    out = lint_file(trcli, tmp_path, document)
    assert out.exit_code == CHECK_FAILED
    (finding,) = out.json()["findings"]
    assert finding["path"] == "task_routing.filters[0].targets[0].timout"
    assert "did you mean 'timeout'" in finding["message"]


def test_every_broken_expression_is_reported_with_its_column(
    trcli: Trcli, tmp_path: Path, queue_sids: dict[str, str]
) -> None:
    document = routing(
        {"expression": 'selected_language == "es" AND', "targets": [{"queue": queue_sids["es"]}]},
        {
            "expression": "1==1",
            "targets": [{"queue": queue_sids["en"], "expression": "worker.level >> 2"}],
        },
    )
    out = lint_file(trcli, tmp_path, document)
    assert out.exit_code == CHECK_FAILED
    assert [(f["code"], f["path"], f["position"]) for f in out.json()["findings"]] == [
        ("expression", "task_routing.filters[0].expression", 29),
        ("expression", "task_routing.filters[1].targets[0].expression", 14),
    ]
    human = trcli("workflow", "lint", "--file", str(tmp_path / "workflow.json"))
    assert human.exit_code == CHECK_FAILED
    assert "column 30" in human.stdout and "task_routing.filters[0].expression" in human.stdout


def test_a_queue_that_does_not_exist(trcli: Trcli, tmp_path: Path) -> None:
    missing = "WQ" + "0" * 32
    out = lint_file(
        trcli, tmp_path, routing({"expression": "1==1", "targets": [{"queue": missing}]})
    )
    assert findings(out) == [("error", "unknown-queue", "task_routing.filters[0].targets[0].queue")]
    assert missing in out.json()["findings"][0]["message"]


def test_filters_shadowed_by_an_earlier_filter(
    trcli: Trcli, tmp_path: Path, queue_sids: dict[str, str]
) -> None:
    es, en = ({"queue": queue_sids[key]} for key in ("es", "en"))
    out = lint_file(
        trcli,
        tmp_path,
        routing(
            {"expression": 'selected_language == "es"', "targets": [es]},
            {"expression": "selected_language == 'es'", "targets": [en]},
            {"expression": "1 == 1", "targets": [en]},
            {"expression": 'selected_language == "en"', "targets": [en]},
        ),
    )
    assert findings(out) == [
        ("error", "shadowed-filter", "task_routing.filters[1]"),
        ("error", "shadowed-filter", "task_routing.filters[3]"),
    ]
    messages = [f["message"] for f in out.json()["findings"]]
    assert "same expression" in messages[0] and "matches every task" in messages[1]


def test_a_filter_after_one_that_can_skip_is_not_shadowed(
    trcli: Trcli, tmp_path: Path, queue_sids: dict[str, str]
) -> None:
    skipping = {"queue": queue_sids["es"], "skip_if": "workers.available == 0"}
    out = lint_file(
        trcli,
        tmp_path,
        routing(
            {"expression": "1==1", "targets": [skipping]},
            {"expression": "1==1", "targets": [{"queue": queue_sids["en"]}]},
        ),
    )
    assert out.exit_code == 0, out
    assert findings(out) == []


def test_targets_no_current_worker_can_match(
    trcli: Trcli, tmp_path: Path, sdk_client: Any, sandbox: Any, queue_sids: dict[str, str]
) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    french = ws.task_queues.create(friendly_name="French", target_workers='languages HAS "fr"')
    out = lint_file(
        trcli,
        tmp_path,
        routing(
            {
                "expression": "1==1",
                "targets": [
                    {"queue": queue_sids["es"], "expression": "worker.level > 5", "timeout": 10},
                    {
                        "queue": queue_sids["en"],
                        "known_worker_friendly_name": "Carol",
                        "timeout": 10,
                    },
                    {"queue": queue_sids["en"], "expression": "task.vip == true OR worker.x == 1"},
                ],
            },
            default_filter={"queue": french.sid},
        ),
    )
    assert findings(out) == [
        ("error", "unmatchable-target", "task_routing.filters[0].targets[0]"),
        ("error", "unmatchable-target", "task_routing.filters[0].targets[1]"),
        ("error", "unmatchable-target", "task_routing.default_filter.queue"),
    ]
    assert "Alice" in out.json()["findings"][0]["message"]


def test_target_timeouts_past_the_task_timeout(
    trcli: Trcli, tmp_path: Path, queue_sids: dict[str, str]
) -> None:
    targets = [
        {"queue": queue_sids["es"], "timeout": 50000},
        {"queue": queue_sids["en"], "timeout": 50000},
        {"queue": queue_sids["en"]},
    ]
    document = routing({"expression": "1==1", "targets": targets})
    out = lint_file(trcli, tmp_path, document)
    assert findings(out) == [
        ("error", "timeout-past-ttl", "task_routing.filters[0].targets[1].timeout")
    ]
    short = lint_file(trcli, tmp_path, document, "--task-timeout", "30000")
    assert findings(short) == [
        ("error", "timeout-past-ttl", "task_routing.filters[0].targets[0].timeout")
    ]


def test_undocumented_constructs_are_warnings_and_exit_0(
    trcli: Trcli, tmp_path: Path, queue_sids: dict[str, str]
) -> None:
    out = lint_file(
        trcli,
        tmp_path,
        routing(
            {
                "expression": 'NOT (selected_language == "fr") and 1==1',
                "targets": [{"queue": queue_sids["es"]}],
            }
        ),
    )
    assert out.exit_code == 0, out
    assert [(f["severity"], f["code"], f["position"]) for f in out.json()["findings"]] == [
        ("warning", "undocumented", 0),
        ("warning", "undocumented", 32),
    ]
    assert out.json()["clean"] is True


def test_workflow_and_file_together_is_a_usage_error(trcli: Trcli, tmp_path: Path) -> None:
    out = trcli("workflow", "lint", "X", "--file", str(tmp_path / "x.json"))
    assert out.exit_code == 2 and out.stderr.startswith("Error: ")
    missing = trcli("workflow", "lint", "--file", str(tmp_path / "missing.json"))
    assert missing.exit_code == 2 and "not found" in missing.stderr


def test_offline_checks_a_file_without_any_account(tmp_path: Path) -> None:
    """No credentials at all (as in CI): the file's own problems are still found."""
    path = tmp_path / "workflow.json"
    queue = "WQ" + "0" * 32
    path.write_text(
        json.dumps(
            routing(
                {"expression": "1==1", "targets": [{"queue": queue}]},
                {"expression": "x ==", "targets": [{"queue": queue}]},
            )
        )
    )
    out = invoke(["workflow", "lint", "--file", str(path), "--offline", "--json"], {})
    assert out.exit_code == CHECK_FAILED, out
    assert findings(out) == [("error", "expression", "task_routing.filters[1].expression")]
    path.write_text(json.dumps(routing({"expression": "1==1", "targets": [{"queue": queue}]})))
    clean = invoke(["workflow", "lint", "--file", str(path), "--offline"], {})
    assert clean.exit_code == 0 and "no problems found" in clean.stderr
    refused = invoke(["workflow", "lint", "--offline"], {})
    assert refused.exit_code == 2 and "--file" in refused.stderr

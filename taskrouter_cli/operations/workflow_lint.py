"""``trcli workflow lint``: a configuration checked against the workspace it will route in."""

from __future__ import annotations

from typing import Any

from taskrouter_cli.operations.inputs import read_json_argument
from taskrouter_cli.operations.routing_dry_run import WorkspaceReader
from taskrouter_cli.routing.dry_run import DEFAULT_TASK_TIMEOUT
from taskrouter_cli.routing.lint import ERROR, WARNING, Finding, lint_configuration


def read_configuration_file(path: str) -> str:
    """The text of ``--file`` (``-`` is not special: pass a path)."""
    return read_json_argument("@" + path, "--file")


def lint_in_workspace(
    workspace_api: Any, configuration: str, *, task_timeout: int = DEFAULT_TASK_TIMEOUT
) -> tuple[Finding, ...]:
    """Every finding for ``configuration`` with the workspace's queues and workers."""
    reader = WorkspaceReader(workspace_api)
    return lint_configuration(
        configuration, reader.queues(), reader.all_workers(), task_timeout=task_timeout
    )


def lint_report(findings: tuple[Finding, ...], source: dict[str, Any]) -> dict[str, Any]:
    """``--json``: the findings with their paths, and the counts."""
    return {
        **source,
        "clean": not any(f.severity == ERROR for f in findings),
        "errors": sum(1 for f in findings if f.severity == ERROR),
        "warnings": sum(1 for f in findings if f.severity == WARNING),
        "findings": [
            {
                "severity": f.severity,
                "code": f.code,
                "path": f.path,
                "message": f.message,
                "position": f.position,
            }
            for f in findings
        ],
    }

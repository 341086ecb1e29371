"""The workflow development loop runs the real ``trcli`` (the ``trcli`` fixture) against the
real sandbox on loopback.

``routing_lab`` adds to the seeded quickstart workspace: levels on Alice (3) and Bob (1), an
"Everyone" queue and the workflow "Routing Lab", whose filters use time of day, target
timeouts, a target expression, priority, ``order_by``, a known worker, ``skip_if`` and a
default filter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

LAB = "Routing Lab"
SPANISH = "Customer Care Requests - Spanish"
ENGLISH = "Customer Care Requests - English"
EVERYONE = "Everyone"


def lab_configuration(queues: dict[str, str]) -> dict[str, Any]:
    return {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "Spanish office hours",
                    "expression": 'selected_language == "es" AND taskrouter.currentTime >= 900'
                    " AND taskrouter.currentTime < 1700",
                    "targets": [
                        {"queue": queues[SPANISH], "priority": 5, "timeout": 30},
                        {
                            "queue": queues[ENGLISH],
                            "expression": "worker.level >= 1",
                            "timeout": 60,
                        },
                    ],
                },
                {
                    "filter_friendly_name": "Known agent",
                    "expression": "agent != null",
                    "targets": [
                        {"queue": queues[EVERYONE], "known_worker_friendly_name": "task.agent"}
                    ],
                },
                {
                    "filter_friendly_name": "Callbacks",
                    "expression": 'type == "callback"',
                    "targets": [
                        {
                            "queue": queues[SPANISH],
                            "skip_if": "workers.available == 0",
                            "timeout": 20,
                        },
                        {"queue": queues[ENGLISH], "timeout": 20},
                    ],
                },
                {
                    "filter_friendly_name": "Any language",
                    "expression": 'selected_language IN ["en", "es"]',
                    "targets": [{"queue": queues[ENGLISH], "order_by": "worker.level DESC"}],
                },
            ],
            "default_filter": {"queue": queues[EVERYONE]},
        }
    }


@dataclass
class Lab:
    ws: Any
    workflow_sid: str
    queue_names: dict[str, str]
    """SID → friendly name."""


@pytest.fixture
def routing_lab(sandbox: Any, sdk_client: Any) -> Lab:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    for worker in ws.workers.list():
        attributes = json.loads(worker.attributes)
        attributes["level"] = {"Alice": 3, "Bob": 1}[worker.friendly_name]
        ws.workers(worker.sid).update(attributes=json.dumps(attributes))
    ws.task_queues.create(friendly_name=EVERYONE, target_workers="1==1")
    queues = {str(q.friendly_name): str(q.sid) for q in ws.task_queues.list()}
    workflow = ws.workflows.create(
        friendly_name=LAB,
        configuration=json.dumps(lab_configuration(queues)),
        task_reservation_timeout=600,
    )
    return Lab(ws, str(workflow.sid), {sid: name for name, sid in queues.items()})

"""The quickstart workspace of the TaskRouter tutorial (behaviour doc §10).

Single-tasking, so the tutorial's Idle -> Reserved -> Busy moves happen; Activities Offline
(default and timeout), Idle (available), Reserved, Busy; Workers Alice ``{"languages":["en","es"]}``
and Bob ``{"languages":["en"]}``, both Offline; two queues (reservation activity Reserved,
assignment activity Busy); Workflow "Incoming Customer Care Requests" with a 1200 s reservation
timeout, the two language filters (names ``Language - Spanish`` / ``Language - English``, our
choice), no default filter and no callback URL.
"""

from __future__ import annotations

import json

from .resources import Resources
from .state import Record

WORKSPACE_NAME = "TaskRouter Quickstart"
WORKFLOW_NAME = "Incoming Customer Care Requests"
SPANISH_QUEUE = "Customer Care Requests - Spanish"
ENGLISH_QUEUE = "Customer Care Requests - English"
ACTIVITIES = (("Offline", False), ("Idle", True), ("Reserved", False), ("Busy", False))


def seed(resources: Resources) -> Record:
    workspace = resources.create_workspace(
        {"friendly_name": WORKSPACE_NAME, "multi_task_enabled": False}, activities=ACTIVITIES
    )
    ws = workspace["sid"]
    by_name = {a["friendly_name"]: a for a in resources.state.in_workspace(ws, "activity").values()}
    offline = by_name["Offline"]["sid"]
    for name, languages in (("Alice", ["en", "es"]), ("Bob", ["en"])):
        resources.create_worker(
            ws,
            {
                "friendly_name": name,
                "attributes": json.dumps({"languages": languages}),
                "activity_sid": offline,
            },
        )
    queues = {}
    for name, language in ((SPANISH_QUEUE, "es"), (ENGLISH_QUEUE, "en")):
        queues[language] = resources.create_task_queue(
            ws,
            {
                "friendly_name": name,
                "target_workers": f'languages HAS "{language}"',
                "reservation_activity_sid": by_name["Reserved"]["sid"],
                "assignment_activity_sid": by_name["Busy"]["sid"],
            },
        )
    configuration = {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "Language - Spanish",
                    "expression": 'selected_language == "es"',
                    "targets": [{"queue": queues["es"]["sid"]}],
                },
                {
                    "filter_friendly_name": "Language - English",
                    "expression": 'selected_language == "en"',
                    "targets": [{"queue": queues["en"]["sid"]}],
                },
            ]
        }
    }
    resources.create_workflow(
        ws,
        {
            "friendly_name": WORKFLOW_NAME,
            "configuration": json.dumps(configuration),
            "task_reservation_timeout": 1200,
        },
    )
    return workspace

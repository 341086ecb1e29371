"""The sandbox's quickstart seed: the tutorial's Part 1 workspace.

What it contains is defined once, in :data:`taskrouter_cli.quickstart_spec.QUICKSTART` (the
same definition ``trcli setup`` applies to a live account): single-tasking, Activities Offline
(default and timeout), Idle, Reserved, Busy; Alice and Bob Offline; the Spanish and English
queues (reservation activity Reserved, assignment activity Busy); the workflow "Incoming Customer
Care Requests" with a 1200 s reservation timeout, the two language filters, no default filter
and no callback URL.
"""

from __future__ import annotations

from taskrouter_cli.quickstart_spec import QUICKSTART, WorkspaceSpec

from .resources import Resources
from .state import Record


def seed(resources: Resources, spec: WorkspaceSpec = QUICKSTART) -> Record:
    if spec.default_activity != "Offline" or spec.timeout_activity != "Offline":
        raise ValueError("the sandbox seeds Offline as the default and timeout activity")
    workspace = resources.create_workspace(
        {"friendly_name": spec.name, "multi_task_enabled": spec.multi_task_enabled},
        activities=tuple((a.name, a.available) for a in spec.activities),
    )
    ws = workspace["sid"]
    activity_sids = {
        a["friendly_name"]: a["sid"] for a in resources.state.in_workspace(ws, "activity").values()
    }
    for worker in spec.workers:
        resources.create_worker(
            ws,
            {
                "friendly_name": worker.name,
                "attributes": worker.attributes_json,
                "activity_sid": activity_sids[worker.activity],
            },
        )
    queue_sids = {}
    for queue in spec.queues:
        created = resources.create_task_queue(
            ws,
            {
                "friendly_name": queue.name,
                "target_workers": queue.target_workers,
                "reservation_activity_sid": activity_sids[queue.reservation_activity],
                "assignment_activity_sid": activity_sids[queue.assignment_activity],
            },
        )
        queue_sids[queue.name] = created["sid"]
    resources.create_workflow(
        ws,
        {
            "friendly_name": spec.workflow.name,
            "configuration": spec.workflow.configuration_json(queue_sids),
            "task_reservation_timeout": spec.workflow.task_reservation_timeout,
        },
    )
    return workspace

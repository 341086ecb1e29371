"""``trcli serve --ui --tunnel``: through the tunnel only the callback paths answer.

The tunnel is pyngrok's real process management with the stand-in ngrok agent of
``tests/helpers/ngrok_agent.py`` at the edge. Its "public" URL is a loopback port, so its
requests even carry a loopback Host: the console still refuses them, because they come through
a proxy (X-Forwarded-For), as real ngrok's do.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import requests

from tests.faults.test_tunnel_through_pyngrok import (  # noqa: F401 - fixtures used below
    NGROK_TOKEN,
    agent_env,
    spawn,
)
from tests.serve.test_cli_serve import ServeProcess
from tests.serve.test_sandbox_flows import WORKFLOW, Quickstart


def test_through_the_tunnel_the_console_is_404_and_callbacks_still_arrive(
    spawn: Callable[..., ServeProcess],  # noqa: F811 - the imported fixture
    quickstart: Quickstart,
    sandbox: Any,
) -> None:
    serve = spawn("--ui", "--tunnel", "--point", WORKFLOW, env={"NGROK_AUTHTOKEN": NGROK_TOKEN})
    started = serve.next_json()
    public = started["assignment_url"].removesuffix("/assignment")
    console_url = started["console_url"]
    assert not console_url.startswith(public)

    for path in ("/", "/console/console.js", "/console/stream", "/healthz"):
        assert requests.get(public + path, timeout=5).status_code == 404, path
    refused = requests.post(
        public + "/console/api/accept",
        json={"reservation_sid": "WR" + "0" * 32},
        headers={"Origin": public},
        timeout=5,
    )
    assert refused.status_code == 404
    assert requests.get(console_url, timeout=5).status_code == 200  # this machine: the page

    task = quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")
    sandbox.flush()
    record = serve.wait_for_assignment()
    assert (record["task_sid"], record["signature"]) == (task.sid, "valid")
    code, stderr = serve.stop(signal.SIGTERM)
    assert code == 0, stderr

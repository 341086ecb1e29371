"""SID-or-name resolution and SDK error translation against a real sandbox on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from taskrouter_cli.config import load_settings
from taskrouter_cli.errors import AmbiguousNameError, CredentialsError, NotFoundError
from taskrouter_cli.resolve import WORKER, WORKFLOW, Resolver
from tests.helpers.cli import invoke


@pytest.fixture
def resolver(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Resolver:
    from taskrouter_cli.client import make_client

    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    return Resolver(make_client(load_settings()))


def test_unique_name_is_case_insensitive(resolver: Resolver, sandbox: Any) -> None:
    workspace = resolver.workspace("taskrouter QUICKSTART")
    assert workspace.sid == sandbox.workspace_sid
    alice = resolver.in_workspace(WORKER, workspace.sid, "ALICE")
    assert alice.friendly_name == "Alice"
    assert resolver.sid_in_workspace(WORKER, workspace.sid, alice.sid) == alice.sid


def test_the_only_workspace_is_chosen_without_a_name(resolver: Resolver, sandbox: Any) -> None:
    assert resolver.workspace(None).sid == sandbox.workspace_sid


def test_unknown_name_lists_candidates(resolver: Resolver, sandbox: Any) -> None:
    with pytest.raises(NotFoundError) as caught:
        resolver.in_workspace(WORKFLOW, sandbox.workspace_sid, "Incoming")
    message = caught.value.one_line()
    assert "No Workflow named 'Incoming'" in message
    assert "Incoming Customer Care Requests (WW" in message


def test_ambiguous_name_lists_the_matches(resolver: Resolver, sdk_client: Any) -> None:
    first = sdk_client.taskrouter.v1.workspaces.create(friendly_name="Twins")
    second = sdk_client.taskrouter.v1.workspaces.create(friendly_name="twins")
    with pytest.raises(AmbiguousNameError) as caught:
        resolver.workspace("TWINS")
    message = caught.value.one_line()
    assert "2 Workspaces are named 'TWINS'" in message
    assert first.sid in message and second.sid in message
    assert "Use the SID instead" in message


def test_several_workspaces_and_none_selected(resolver: Resolver, sdk_client: Any) -> None:
    sdk_client.taskrouter.v1.workspaces.create(friendly_name="Second")
    with pytest.raises(Exception, match="Several Workspaces exist") as caught:
        resolver.workspace(None)
    assert "TRCLI_WORKSPACE" in str(caught.value.hint)


def test_rejected_credentials_on_a_list_call_exit_3(sandbox: Any) -> None:
    # No TRCLI_WORKSPACE: the workspace is found by listing, which the SDK reports differently
    # (a plain TwilioException "Unable to fetch page") from a fetch.
    env = {**sandbox.env, "TWILIO_AUTH_TOKEN": "wrong"}
    env.pop("TRCLI_WORKSPACE")
    outcome = invoke(["worker", "list"], env)
    assert outcome.exit_code == 3, outcome.stderr
    assert outcome.stderr.startswith("Error: Twilio 20003: Authenticate")
    assert "https://www.twilio.com/docs/errors/20003" in outcome.stderr
    assert f"The API at {sandbox.base_url} does not know these credentials" in outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1


def test_unknown_account_is_a_credentials_error(resolver: Resolver) -> None:
    from taskrouter_cli.client import make_client, translate_exception

    stranger = Resolver(make_client(load_settings({"account_sid": "AC" + "0" * 32})))
    with pytest.raises(Exception) as caught:
        stranger.workspace(None)
    assert isinstance(translate_exception(caught.value), CredentialsError)

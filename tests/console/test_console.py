"""``trcli serve --ui`` in a real browser against the sandbox: the agent's whole loop, the
errors in words, and the console's security (token, origin, host)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from taskrouter_cli.callbacks.console import TOKEN_HEADER
from taskrouter_cli.callbacks.forward import Forwarder
from taskrouter_cli.callbacks.instructions import build_reply
from tests.console.conftest import (
    WAIT_MS,
    RunningConsole,
    pretty,
    screenshot_path,
    wait_until,
)
from tests.serve.conftest import assignment_params, sign
from tests.serve.handlers import PhpHandler
from tests.serve.test_cli_serve import ServeProcess
from tests.serve.test_sandbox_flows import WORKFLOW


def test_a_reservation_appears_live_and_accept_assigns_the_task(
    console: RunningConsole, page: Any, tmp_path: Path
) -> None:
    quickstart = console.quickstart
    page.set_viewport_size({"width": 1000, "height": 800})
    console.open(page)
    task = quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")

    card, reservation_sid = console.reservation_appears(page)
    page.screenshot(path=str(screenshot_path(tmp_path, "console.png")), full_page=True)
    assert page.evaluate("window.trcliNotReloaded") is True
    [reservation] = quickstart.reservations(task.sid)
    assert reservation.sid == reservation_sid
    text = card.inner_text()
    assert "Alice" in text and "Customer Care Requests - Spanish" in text
    assert pretty({"selected_language": "es"}) in card.inner_text()
    assert "trcli serve answered {}" in text
    assert card.get_attribute("data-status") == "pending"

    card.query_selector("[data-action='accept']").focus()  # by keyboard
    page.keyboard.press("Enter")
    page.wait_for_selector(f"[data-reservation-sid='{reservation_sid}'][data-status='accepted']")
    page.wait_for_selector(f"[data-task-sid='{task.sid}'][data-status='assigned']")
    assert console.reservation(task.sid, reservation_sid).reservation_status == "accepted"
    assert console.task(task.sid).assignment_status == "assigned"
    assert quickstart.worker_activity("Alice") == "Busy"
    steps = [li.get_attribute("data-step") for li in card.query_selector_all(".timeline li")]
    assert steps == ["created", "reserved", "accepted", "assigned"]

    card.query_selector("input").fill("Spoke Spanish with the customer")
    card.query_selector("[data-action='complete']").click()
    page.wait_for_selector(f"[data-task-sid='{task.sid}'][data-status='completed']")
    completed = console.task(task.sid)
    assert (completed.assignment_status, completed.reason) == (
        "completed",
        "Spoke Spanish with the customer",
    )
    assert page.evaluate("window.trcliNotReloaded") is True


def test_reject_with_an_activity_moves_the_worker(console: RunningConsole, page: Any) -> None:
    quickstart = console.quickstart
    console.open(page)
    task = quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")
    card, reservation_sid = console.reservation_appears(page)

    card.query_selector("select").select_option(label="Offline")
    card.query_selector("[data-action='reject']").click()
    page.wait_for_selector(f"[data-reservation-sid='{reservation_sid}'][data-status='rejected']")
    assert console.reservation(task.sid, reservation_sid).reservation_status == "rejected"
    assert quickstart.worker_activity("Alice") == "Offline"
    alice = page.locator("[data-worker-sid]", has_text="Alice")
    alice.locator(".activity", has_text="Offline").wait_for()
    wait_until(lambda: console.task(task.sid).assignment_status == "pending", "task pending")


def test_a_taskrouter_error_is_shown_in_words_next_to_the_reservation(
    console: RunningConsole, page: Any
) -> None:
    quickstart = console.quickstart
    lunch = quickstart.workspace.activities.create(friendly_name="Lunch", available=False)
    console.open(page)
    task = quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")
    card, reservation_sid = console.reservation_appears(page)
    quickstart.workspace.activities(lunch.sid).delete()  # the page still offers it

    card.query_selector("select").select_option(label="Lunch")
    card.query_selector("[data-action='reject']").click()
    error = card.wait_for_selector(".error:not([hidden])")
    words = error.inner_text()
    assert lunch.sid in words or "Lunch" in words or "Activity" in words, words
    assert "Twilio" in words or "HTTP" in words, words
    assert console.reservation(task.sid, reservation_sid).reservation_status == "pending"
    assert card.get_attribute("data-status") == "pending"


def test_the_worker_activity_can_be_changed_from_the_page(
    console: RunningConsole, page: Any
) -> None:
    console.open(page)
    bob = page.locator("[data-worker-sid]", has_text="Bob")
    bob.locator("select").select_option(label="Idle (available)")
    bob.locator("[data-action='set-activity']").click()
    bob.locator(".activity", has_text="Idle (available)").wait_for()
    assert console.quickstart.worker_activity("Bob") == "Idle"


def test_with_accept_the_page_shows_reservations_the_callback_accepted(
    start_console: Any, page: Any
) -> None:
    running = start_console(build_reply("accept", {}))
    running.open(page)
    task = running.quickstart.create_task("es")
    running.quickstart.set_activity("Alice", "Idle")
    page.wait_for_selector(f"[data-task-sid='{task.sid}'][data-status='assigned']", timeout=WAIT_MS)
    card = page.query_selector("[data-reservation-sid]")
    assert card is not None and card.get_attribute("data-status") == "accepted"
    assert 'trcli serve answered {"instruction": "accept"}' in card.inner_text()
    assert card.query_selector(".actions").is_hidden()


def test_the_auth_token_is_never_in_the_page_its_files_or_the_stream(
    console: RunningConsole, page: Any
) -> None:
    quickstart = console.quickstart
    token = quickstart.sandbox.auth_token
    console.open(page)
    quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")
    console.reservation_appears(page)
    seen = [page.content()]
    base = console.server.local_base()
    with requests.Session() as http:
        for path in ("/", "/console/console.js", "/console/console.css"):
            seen.append(http.get(base + path, timeout=5).text)
        with http.get(base + "/console/stream", stream=True, timeout=5) as stream:
            text = ""
            for chunk in stream.iter_content(chunk_size=None, decode_unicode=True):
                text += chunk
                if "event: state" in text and text.endswith("\n\n"):
                    break
            seen.append(text)
    assert "Alice" in seen[-1]  # the stream did carry the state
    for text in seen:
        assert token not in text


def test_state_changes_need_the_pages_origin_and_token(console: RunningConsole, page: Any) -> None:
    quickstart = console.quickstart
    console.open(page)
    task = quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")
    _, reservation_sid = console.reservation_appears(page)
    base = console.server.local_base()
    accept = base + "/console/api/accept"
    body = {"reservation_sid": reservation_sid}
    right = {TOKEN_HEADER: console.console.token, "Origin": base}
    refused = [
        requests.post(accept, json=body, headers={**right, "Origin": "http://evil.example"}),
        requests.post(accept, json=body, headers={TOKEN_HEADER: console.console.token}),
        requests.post(accept, json=body, headers={**right, TOKEN_HEADER: "guessed"}),
        requests.post(accept, json=body, headers={"Origin": base}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert all(r.json()["error"].startswith("Refused") for r in refused)
    form = requests.post(accept, data=body, headers=right)  # a plain form post
    assert form.status_code == 415

    # A page on another origin (another port is another origin) tries it from the browser.
    other = page.context.new_page()
    try:
        other.goto(f"http://localhost:{console.server.port}/healthz")
        other.evaluate(
            """async ([url, sid]) => {
                await fetch(url, {method: "POST", mode: "no-cors", credentials: "include",
                    headers: {"Content-Type": "text/plain"},
                    body: JSON.stringify({reservation_sid: sid})});
            }""",
            [f"http://127.0.0.1:{console.server.port}/console/api/accept", reservation_sid],
        )
    finally:
        other.close()
    assert console.reservation(task.sid, reservation_sid).reservation_status == "pending"


def test_through_the_tunnel_only_the_callback_paths_answer(start_console: Any) -> None:
    running = start_console(public_url="https://abc123.ngrok.app")
    base = running.server.local_base()
    public = {"Host": "abc123.ngrok.app"}
    for path in ("/", "/console/console.js", "/console/stream", "/healthz", "/console/api/accept"):
        assert requests.get(base + path, headers=public, timeout=5).status_code == 404, path
    assert (
        requests.get(base + "/", headers={"Host": "evil.example:80"}, timeout=5).status_code == 404
    )
    assert requests.get(base + "/", timeout=5).status_code == 200
    params = assignment_params()
    signature = sign(running.server.assignment_url, params, running.quickstart.sandbox.auth_token)
    callback = requests.post(
        base + "/assignment",
        data=params,
        headers={**public, "X-Twilio-Signature": signature},
        timeout=5,
    )
    assert callback.status_code == 200


def test_the_page_is_labelled_and_fits_a_360_pixel_screen(
    console: RunningConsole, page: Any, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    console.open(page)
    console.quickstart.create_task("es")
    console.quickstart.set_activity("Alice", "Idle")
    console.reservation_appears(page)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('select, input, button')]
            .filter((c) => !(c.labels && c.labels.length) && !c.textContent.trim())
            .map((c) => c.outerHTML)"""
    )
    assert unlabelled == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot = screenshot_path(tmp_path, "console-360.png")
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_serve_ui_from_the_command_line_prints_the_console_url(
    quickstart: Any, sandbox: Any
) -> None:
    serve = ServeProcess(["--ui", "--point", WORKFLOW], sandbox.env)
    try:
        started = serve.next_json()
        url = started["console_url"]
        assert url == started["local_url"] + "/"
        page = requests.get(url, timeout=5)
    finally:
        code, stderr = serve.stop()
    assert code == 0, stderr
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert '<meta name="trcli-console-token" content="' in page.text
    assert sandbox.auth_token not in page.text


def test_with_forward_to_the_page_shows_what_the_handler_answered(
    start_console: Any, page: Any, tmp_path: Path
) -> None:
    php = PhpHandler(tmp_path)
    try:
        running = start_console(forwarder=Forwarder(php.url, "unused-for-this-test-0000000000"))
        running.open(page)
        task = running.quickstart.create_task("es")
        running.quickstart.set_activity("Alice", "Idle")
        card, _ = running.reservation_appears(page)
        card.wait_for_selector(".answer:has-text('your handler answered 200 {}')")
    finally:
        php.stop()
    assert card.get_attribute("data-status") == "pending"
    card.query_selector("[data-action='accept']").click()
    page.wait_for_selector(f"[data-task-sid='{task.sid}'][data-status='assigned']")


def test_a_reservation_that_times_out_says_so(console: RunningConsole, page: Any) -> None:
    quickstart = console.quickstart
    console.open(page)
    quickstart.create_task("es")
    quickstart.set_activity("Alice", "Idle")
    card, reservation_sid = console.reservation_appears(page)
    # the workflow's 1200 s, counted down by the page from when serve saw the reservation: on a
    # loaded machine a second may pass before it is read, so the time left is 20:00 or just below
    left = card.query_selector(".left")
    page.wait_for_function("(left) => /^\\d+:\\d\\d$/.test(left.textContent)", arg=left)
    minutes, seconds = left.inner_text().split(":")
    assert 1200 - 15 <= int(minutes) * 60 + int(seconds) <= 1200, left.inner_text()
    quickstart.sandbox.advance(1201)
    page.wait_for_selector(f"[data-reservation-sid='{reservation_sid}'][data-status='timeout']")
    assert card.query_selector(".actions").is_hidden()


def test_keyboard_focus_stays_on_the_card_and_changes_are_announced(
    console: RunningConsole, page: Any
) -> None:
    console.open(page)
    console.quickstart.create_task("es")
    console.quickstart.set_activity("Alice", "Idle")
    card, reservation_sid = console.reservation_appears(page)
    page.wait_for_selector(
        "#announce:has-text('New reservation: task for Alice')", state="attached"
    )
    card.query_selector("[data-action='accept']").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"[data-reservation-sid='{reservation_sid}'][data-status='accepted']")
    page.wait_for_selector(f"#announce:has-text('Accepted {reservation_sid}')", state="attached")
    assert page.evaluate("document.activeElement.tagName") == "H3"
    assert page.evaluate("document.activeElement.closest('[data-reservation-sid]') !== null")


def test_when_taskrouter_cannot_be_reached_the_page_says_so(
    console: RunningConsole, page: Any
) -> None:
    console.open(page)
    page.locator("[data-worker-sid]", has_text="Alice").wait_for()
    console.quickstart.sandbox.server.stop()
    problem = page.wait_for_selector("#problem:not([hidden])", timeout=3 * WAIT_MS)
    words = problem.inner_text()
    base_url = console.quickstart.sandbox.base_url
    assert words.startswith(
        f"Could not read TaskRouter: Cannot reach the TaskRouter API at {base_url}"
    )
    assert "Is the sandbox running?" in words
    assert page.locator("[data-worker-sid]", has_text="Alice").count() == 1  # last known state


def test_the_console_works_when_opened_as_localhost(console: RunningConsole, page: Any) -> None:
    page.goto(f"http://localhost:{console.server.port}/")
    page.wait_for_selector("body[data-live='yes']")
    task = console.quickstart.create_task("es")
    console.quickstart.set_activity("Alice", "Idle")
    card, reservation_sid = console.reservation_appears(page)
    card.query_selector("[data-action='accept']").click()
    page.wait_for_selector(f"[data-task-sid='{task.sid}'][data-status='assigned']")
    assert console.reservation(task.sid, reservation_sid).reservation_status == "accepted"

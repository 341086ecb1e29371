// trcli agent console: renders the snapshots trcli serve streams (Server-Sent Events) and sends
// the agent's actions back as JSON POSTs carrying the page's per-run token.
// Stable hooks for tests and automation (see docs/agent-console.md):
//   [data-reservation-sid] with data-status (the reservation's status), containing the task's
//   attributes and the worker's name as text, and buttons [data-action="accept"|"reject"];
//   [data-task-sid] with data-status (the task's status) inside it.
"use strict";

(function () {
  const token = document.querySelector('meta[name="trcli-console-token"]').content;
  const FINISHED_TASK = ["completed", "canceled", "deleted"];
  let snapshot = null;
  let rendered = false;

  function byId(id) {
    return document.getElementById(id);
  }

  function make(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children || []) {
      node.append(child);
    }
    return node;
  }

  function clockTime(iso) {
    return iso ? iso.slice(11, 19) + " UTC" : "";
  }

  function duration(seconds) {
    const whole = Math.max(0, Math.round(seconds));
    const minutes = Math.floor(whole / 60);
    const rest = String(whole % 60).padStart(2, "0");
    return minutes + ":" + rest;
  }

  async function post(action, body) {
    const response = await fetch("/console/api/" + action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Trcli-Console-Token": token },
      body: JSON.stringify(body),
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (ignored) {
      answer = {};
    }
    if (!response.ok) {
      throw new Error(answer.error || "trcli serve answered HTTP " + response.status);
    }
    return answer;
  }

  function announce(text) {
    byId("announce").textContent = text;
  }

  async function act(container, action, body) {
    const focused = container.contains(document.activeElement) ? document.activeElement : null;
    let succeeded = false;
    const error = container.querySelector(":scope .error");
    error.hidden = true;
    error.textContent = "";
    const buttons = container.querySelectorAll("button");
    buttons.forEach((button) => {
      button.disabled = true;
    });
    container.setAttribute("aria-busy", "true");
    try {
      const answer = await post(action, body);
      announce(answer.message || "Done");
      succeeded = true;
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
      announce(failure.message);
    } finally {
      buttons.forEach((button) => {
        button.disabled = false;
      });
      container.removeAttribute("aria-busy");
      // Disabling the buttons took the keyboard focus away: give it back. After a success the
      // buttons may be gone (an accepted reservation has none), so the card's heading takes it.
      const heading = container.querySelector("h3");
      if (focused && succeeded && heading) heading.focus();
      else if (focused && focused.isConnected) focused.focus();
    }
  }

  function fillActivities(select, activities, keepLabel) {
    const chosen = select.value;
    select.replaceChildren();
    if (keepLabel) select.append(make("option", { value: "", text: keepLabel }));
    for (const activity of activities) {
      const label = activity.name + (activity.available ? " (available)" : "");
      select.append(make("option", { value: activity.sid, text: label }));
    }
    if (chosen && [...select.options].some((option) => option.value === chosen)) {
      select.value = chosen;
    }
  }

  // -- workers ------------------------------------------------------------------------------

  function workerItem(worker) {
    const selectId = "activity-" + worker.sid;
    const item = make("li", { "data-worker-sid": worker.sid, class: "worker" }, [
      make("span", { class: "name", text: worker.name }),
      make("span", { class: "activity" }),
      make("span", { class: "controls" }, [
        make("label", { for: selectId, text: "Activity for " + worker.name }),
        make("select", { id: selectId }),
        make("button", { type: "button", "data-action": "set-activity", text: "Set activity" }),
      ]),
      make("p", { class: "error", role: "alert", hidden: true }),
    ]);
    const select = item.querySelector("select");
    select.addEventListener("change", () => {
      select.dataset.touched = "yes";
    });
    item.querySelector("button").addEventListener("click", () => {
      act(item, "activity", { worker_sid: worker.sid, activity_sid: select.value }).then(() => {
        delete select.dataset.touched;
      });
    });
    return item;
  }

  function renderWorkers(workers, activities, activitiesChanged) {
    const list = byId("workers");
    byId("no-workers").hidden = workers.length > 0;
    const seen = new Set();
    for (const worker of workers) {
      seen.add(worker.sid);
      let item = list.querySelector(`[data-worker-sid="${CSS.escape(worker.sid)}"]`);
      const select = item ? item.querySelector("select") : null;
      if (!item) {
        item = workerItem(worker);
        list.append(item);
        fillActivities(item.querySelector("select"), activities, null);
      } else if (activitiesChanged) {
        fillActivities(select, activities, null);
      }
      item.dataset.available = worker.available ? "true" : "false";
      item.querySelector(".activity").textContent =
        worker.activity_name + (worker.available ? " (available)" : " (not available)");
      const choice = item.querySelector("select");
      if (!choice.dataset.touched && document.activeElement !== choice) {
        choice.value = worker.activity_sid;
      }
    }
    for (const item of [...list.children]) {
      if (!seen.has(item.dataset.workerSid)) item.remove();
    }
  }

  // -- reservations -------------------------------------------------------------------------

  function field(term, className) {
    return [make("dt", { text: term }), make("dd", { class: className })];
  }

  function reservationCard(card) {
    const sid = card.reservation_sid;
    const rejectId = "reject-activity-" + sid;
    const reasonId = "reason-" + sid;
    const titleId = "title-" + sid;
    const item = make("li", { class: "card", "data-reservation-sid": sid }, [
      make("article", { "aria-labelledby": titleId }, [
        make("h3", { id: titleId, tabindex: "-1" }, [
          "Task for ",
          make("span", { class: "worker-name" }),
          " ",
          make("span", { class: "badge" }),
        ]),
        make("dl", {}, [
          ...field("Queue", "queue"),
          ...field("Waiting", "age"),
          ...field("Time left", "left"),
          ...field("Task", "task"),
          ...field("Reservation", "reservation"),
          ...field("Callback", "answer"),
        ]),
        make("h4", { text: "Task attributes" }),
        make("pre", { class: "attributes", tabindex: "0", "aria-label": "Task attributes" }),
        make("div", { class: "actions", role: "group", "aria-label": "Answer the reservation" }, [
          make("button", { type: "button", "data-action": "accept", text: "Accept" }),
          make("span", { class: "reject" }, [
            make("label", { for: rejectId, text: "Activity after rejecting" }),
            make("select", { id: rejectId }),
            make("button", { type: "button", "data-action": "reject", text: "Reject" }),
          ]),
        ]),
        make("h4", { text: "Timeline" }),
        make("ol", { class: "timeline", "data-task-sid": card.task_sid }),
        make("div", { class: "complete", hidden: true }, [
          make("label", { for: reasonId, text: "Reason" }),
          make("input", { id: reasonId, type: "text", value: "Handled in the console" }),
          make("button", { type: "button", "data-action": "complete", text: "Complete" }),
        ]),
        make("p", { class: "error", role: "alert", hidden: true }),
      ]),
    ]);
    item.querySelector('[data-action="accept"]').addEventListener("click", () => {
      act(item, "accept", { reservation_sid: sid });
    });
    item.querySelector('[data-action="reject"]').addEventListener("click", () => {
      const activity = item.querySelector("#" + CSS.escape(rejectId)).value || null;
      act(item, "reject", { reservation_sid: sid, activity_sid: activity });
    });
    item.querySelector('[data-action="complete"]').addEventListener("click", () => {
      const reason = item.querySelector("#" + CSS.escape(reasonId)).value;
      act(item, "complete", { task_sid: card.task_sid, reason: reason });
    });
    return item;
  }

  function updateCard(item, card, activities, activitiesChanged) {
    item.dataset.status = card.reservation_status;
    item.querySelector(".worker-name").textContent = card.worker_name || card.worker_sid;
    item.querySelector(".badge").textContent = card.reservation_status;
    item.querySelector(".queue").textContent = card.queue_name || "—";
    item.querySelector(".task").textContent = card.task_sid + " (" + card.task_status + ")";
    item.querySelector(".reservation").textContent = card.reservation_sid;
    item.querySelector(".answer").textContent = card.callback_answer || "—";
    item.querySelector(".attributes").textContent = JSON.stringify(card.task_attributes, null, 2);
    const pending = card.reservation_status === "pending";
    item.querySelector(".actions").hidden = !pending;
    const reject = item.querySelector(".reject select");
    if (activitiesChanged || reject.options.length === 0) {
      fillActivities(reject, activities, "Keep the worker's activity");
    }
    const timeline = item.querySelector(".timeline");
    timeline.dataset.status = card.task_status;
    timeline.replaceChildren(
      ...card.timeline.map((step) =>
        make("li", { "data-step": step.label }, [
          step.label + " ",
          make("time", { datetime: step.at || null, text: clockTime(step.at) }),
        ]),
      ),
    );
    const complete = item.querySelector(".complete");
    complete.hidden = !(card.task_status === "assigned" || card.task_status === "wrapping");
    if (card.reason) {
      item.querySelector(".answer").textContent =
        (card.callback_answer || "—") + "; completed: " + card.reason;
    }
  }

  function renderReservations(cards, activities, activitiesChanged) {
    const list = byId("reservations");
    byId("no-reservations").hidden = cards.length > 0;
    const seen = new Set();
    for (const card of cards) {
      seen.add(card.reservation_sid);
      let item = list.querySelector(`[data-reservation-sid="${CSS.escape(card.reservation_sid)}"]`);
      if (!item) {
        item = reservationCard(card);
        list.prepend(item);
        if (!rendered) item.dataset.announced = "yes"; // there before the page opened
      }
      item._card = card;
      updateCard(item, card, activities, activitiesChanged);
      if (!item.dataset.announced && card.worker_name) {
        item.dataset.announced = "yes";
        announce("New reservation: task for " + card.worker_name);
      }
    }
    for (const item of [...list.children]) {
      if (!seen.has(item.dataset.reservationSid)) item.remove();
    }
    tick();
  }

  function tick() {
    const now = Date.now() / 1000;
    for (const item of byId("reservations").children) {
      const card = item._card;
      if (!card) continue;
      const age = (card.task_age || 0) + (now - card.seen_at);
      const finished = FINISHED_TASK.includes(card.task_status);
      item.querySelector(".age").textContent = finished ? "—" : duration(age);
      const left = item.querySelector(".left");
      if (card.reservation_status !== "pending") left.textContent = "—";
      else if (card.timeout_seconds === null) left.textContent = "unknown";
      else left.textContent = duration(card.seen_at + card.timeout_seconds - now);
    }
  }

  // -- the stream ---------------------------------------------------------------------------

  function render(next) {
    const activitiesChanged =
      !snapshot || JSON.stringify(snapshot.activities) !== JSON.stringify(next.activities);
    snapshot = next;
    byId("reply").textContent = next.reply ? "Assignment callbacks: " + next.reply : "";
    const problem = byId("problem");
    problem.hidden = !next.problem;
    problem.textContent = next.problem || "";
    renderWorkers(next.workers, next.activities, activitiesChanged);
    renderReservations(next.reservations, next.activities, activitiesChanged);
    document.body.dataset.version = String(next.version);
    rendered = true;
  }

  function connect() {
    const status = byId("connection");
    const stream = new EventSource("/console/stream");
    stream.addEventListener("open", () => {
      status.textContent = "Live: changes appear as they happen.";
      document.body.dataset.live = "yes";
    });
    stream.addEventListener("state", (event) => {
      render(JSON.parse(event.data));
    });
    stream.addEventListener("error", () => {
      status.textContent = "Disconnected from trcli serve; retrying…";
      document.body.dataset.live = "no";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    connect();
    setInterval(tick, 1000);
  });
})();

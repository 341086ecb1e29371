"""``SandboxService``: the offline TaskRouter behind the HTTP layer (one method per operation).

Every public method runs under one ``RLock`` (the HTTP layer may call from several threads),
first runs the timers that are due, then does its work in memory and commits what changed to the
store before returning. Callbacks set off by the operation are handed to the dispatcher after
the commit, so an API request never waits for them. An operation that fails after changing
memory is rolled back by reloading the last committed state.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar, cast

from . import listing
from .clock import Clock
from .core import Core
from .dispatch import Applied, CallbackDispatcher, DeliveryRequest
from .engine import Engine
from .errors import TaskRouterError, bad_request, not_found, precondition_failed
from .events import load_event
from .json_codec import to_json
from .kinds import KINDS
from .listing import ListPage
from .options import SandboxOptions
from .queries import Queries
from .records import Task, Worker
from .replies import ParsedReply
from .resources import Resources
from .seed import seed
from .state import Record, State, public
from .statistics import Answers, Subjects
from .store import SqliteStore
from .tasks import Tasks

__all__ = ["ListPage", "SandboxOptions", "SandboxService"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Records = list[Record]
DeliveryList = list[dict[str, Any]]
_DEFAULT_OPTIONS = SandboxOptions()


class SandboxService:
    def __init__(
        self, store: SqliteStore, clock: Clock, *, options: SandboxOptions = _DEFAULT_OPTIONS
    ) -> None:
        self.store = store
        self.clock = clock
        self.options = options
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._routing_scheduled = False
        # Credentials are generated once per database; setdefault keeps two processes opening a
        # new database at once (`trcli sandbox &` then `trcli sandbox env`) in agreement.
        stored_sid = store.setdefault_meta("account_sid", "AC" + secrets.token_hex(16))
        stored_token = store.setdefault_meta("auth_token", secrets.token_hex(16))
        self._account_sid = options.account_sid or stored_sid
        self._auth_token = options.auth_token or stored_token
        self._api_key_sid = store.setdefault_meta("api_key_sid", "SK" + secrets.token_hex(16))
        self._api_key_secret = store.setdefault_meta("api_key_secret", secrets.token_hex(16))
        self.state = State(store)
        self.state.load()
        self.core = Core(self.state, clock, options, self._account_sid)
        self.engine = Engine(self.core)
        self.engine.rebuild()
        self.resources = Resources(self.core, self.engine)
        self.tasks = Tasks(self.core, self.engine, self.resources)
        self.stats = Answers(self.core, self.engine, self.resources, store)
        self.queries = Queries(self.core, self.engine, self.resources, store)
        self.dispatcher = CallbackDispatcher(
            lambda: self._auth_token,
            self._apply_reply,
            clock,
            max_deliveries=options.max_deliveries,
            earlier=[json.loads(body) for body in store.load_deliveries(options.max_deliveries)],
            persist=self._persist_delivery,
        )

    # credentials -----------------------------------------------------------------------------
    @property
    def account_sid(self) -> str:
        return self._account_sid

    @property
    def auth_token(self) -> str:
        return self._auth_token

    @property
    def api_key_sid(self) -> str:
        """The database's API key (``SK…``), generated once like the auth token."""
        return self._api_key_sid

    @property
    def api_key_secret(self) -> str:
        return self._api_key_secret

    def authenticate(self, username: str, password: str) -> bool:
        """Basic-auth check, in constant time: the Account SID and auth token, or the API key
        SID and secret (what Twilio recommends, and what the SDK sends with API-key auth)."""
        username, password = str(username), str(password)
        with_token = hmac.compare_digest(username, self._account_sid) & hmac.compare_digest(
            password, self._auth_token
        )
        with_key = hmac.compare_digest(username, self._api_key_sid) & hmac.compare_digest(
            password, self._api_key_secret
        )
        return bool(with_token | with_key)

    # the operation wrapper -------------------------------------------------------------------
    def _run(self, work: Callable[[], T]) -> T:
        with self._lock:
            self._route_due()
            try:
                result = work()
                self.state.commit()
            except BaseException:
                if self.state.has_pending():
                    self._reload()
                else:
                    self.core.outbox = [r for r in self.core.outbox if r.kind == "event"]
                raise
            self._send_outbox()
            routing_due = bool(self.state.jobs)
        if routing_due:
            self._schedule_routing()
        return result

    def _route_due(self) -> None:
        """Under the lock: run the routing jobs and timers that are due, then commit."""
        while True:
            self._run_jobs()
            fired = self.engine.run_due()
            if not fired and not self.state.jobs:
                break
        self.state.commit()

    def _run_jobs(self) -> int:
        ran = 0
        while (job := self.state.next_job()) is not None:
            ran += 1
            try:
                self.engine.run_job(job)
            except Exception:  # a routing bug must not wedge every later request
                log.exception("routing job %s failed; it is dropped", job)
                self._reload()  # back to the last commit (earlier jobs of this run are redone)
                self.state.drop_job(job)
                self.state.commit()
        return ran

    # routing after the answer ----------------------------------------------------------------
    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run routing on ``loop`` (the server's) right after each answer, instead of before
        the service call returns."""
        with self._lock:
            self._loop = loop
            self._loop_thread = threading.get_ident()
            due = bool(self.state.jobs)
        if due:  # routing acknowledged before a restart resumes now
            self._schedule_routing()

    def detach_loop(self) -> None:
        with self._lock:
            self._loop = None

    def _schedule_routing(self) -> None:
        loop = self._loop
        if loop is not None:
            with self._lock:
                if self._routing_scheduled:
                    return
                self._routing_scheduled = True
            try:
                if threading.get_ident() == self._loop_thread:
                    loop.call_soon(self._route_from_loop)
                else:
                    loop.call_soon_threadsafe(self._route_from_loop)
                return
            except RuntimeError:  # the loop is closed: route here instead
                self._routing_scheduled = False
        self.route_now()

    def route_scheduled(self) -> None:
        """Run now the routing scheduled for after this loop turn's answers. The group commit
        calls it just before it hands the turn's writes over: the routing joins the commit of
        the write that set it off (its job is then never written), and its callbacks leave one
        commit earlier."""
        self._route_from_loop()

    def _route_from_loop(self) -> None:
        if not self._routing_scheduled:  # the group commit has run it already
            return
        self._routing_scheduled = False
        try:
            self.route_now()
        except Exception:
            log.exception("routing after the answer failed")

    def route_now(self) -> None:
        """Run the routing (and timers) that are due now and send the callbacks they set off."""
        with self._lock:
            self._route_due()
            self._send_outbox()

    def _send_outbox(self) -> None:
        """Hand the committed operation's callbacks to the dispatcher (which never blocks).
        Under the lock, so :meth:`settle` cannot see "no routing, no delivery" in between."""
        outbox, self.core.outbox = self.core.outbox, []
        for request in outbox:
            self.dispatcher.submit(request)

    def routing_pending(self) -> bool:
        """True while routing acknowledged by a write has not run yet."""
        with self._lock:
            return bool(self.state.jobs)

    def _settled(self) -> bool:
        """No routing job queued and no callback delivery running. Checked under the lock:
        routing hands its callbacks to the dispatcher under it, and a delivery applies its
        reply (queuing routing) before it counts as finished."""
        with self._lock:
            return not self.state.jobs and self.dispatcher.pending == 0

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until routing has settled: every queued routing job has run and every callback
        it set off (and what their replies set off) has finished. False on ``timeout``. Not
        for the server's own event loop (use :meth:`settle_async` there)."""
        deadline = time.monotonic() + timeout
        while True:
            self.route_now()
            if not self.dispatcher.flush(max(0.0, deadline - time.monotonic())):
                return False
            if self._settled():
                return True
            if time.monotonic() >= deadline:
                return False

    async def settle_async(self, timeout: float = 10.0) -> bool:
        """:meth:`settle` from the server's event loop (where the callbacks run)."""
        deadline = time.monotonic() + timeout
        while True:
            self.route_now()
            if not await self.dispatcher.idle(max(0.0, deadline - time.monotonic())):
                return False
            if self._settled():
                return True
            if time.monotonic() >= deadline:
                return False

    def commit_pending(self, *, wait: bool = False) -> Future[None] | None:
        """Hand the writes the store holds for a group commit (``group_commit.py``) to its
        writer (process or thread): the future resolves once they are committed (None: nothing
        to wait for).
        ``wait``: write everything now, here. When writing fails, memory goes back to the last
        commit as well."""
        with self._lock:
            try:
                if wait:
                    self.store.drain()
                    return None
                return self.store.commit_group()
            except BaseException:
                self._roll_back_to_last_commit()
                raise

    def commit_failed(self, writing: Future[None]) -> None:
        """The writer could not commit the group ``writing``: memory goes back to the
        last commit (once for the failed group and those queued behind it)."""
        with self._lock:
            if self.store.was_rolled_back(writing):
                return
            self._roll_back_to_last_commit()
            self.store.was_rolled_back(writing)  # the rollback counted this group too: forget it

    def _roll_back_to_last_commit(self) -> None:
        self.store.rollback_group()
        self._reload()

    def _reload(self) -> None:
        self.state.discard_pending()
        self.state.load()
        self.core.outbox = []
        self.core.clear_attributes()
        self.engine.rebuild()

    # scopes ----------------------------------------------------------------------------------
    def _ws(self, scope: dict[str, Any]) -> str:
        return self.queries.workspace_sid(scope)

    def _parent(self, scope: dict[str, Any]) -> tuple[str, Task | Worker]:
        return self.queries.parent(scope)

    def _find(self, kind: str, scope: dict[str, Any], sid: str) -> Record:
        if kind not in KINDS:
            raise bad_request(f"unknown resource kind {kind!r}")
        if kind == "workspace":
            return cast(Record, self.core.workspace(sid))
        ws = self._ws(scope)
        if kind == "task_channel":
            channel = self.resources.find_task_channel(ws, sid)
            if channel is None:
                raise not_found(f"/v1/Workspaces/{ws}/TaskChannels/{sid}")
            return channel
        if kind == "worker_channel":
            worker = self.core.child("worker", ws, str(scope.get("worker_sid")))
            found = self.resources.worker_channel(worker, sid)
            if found is None:
                raise not_found(f"/v1/Workspaces/{ws}/Workers/{worker['sid']}/Channels/{sid}")
            return found
        if kind == "reservation":
            parent_kind, parent = self._parent(scope)
            res = self.state.get("reservation", sid)
            if res is None or res[f"{parent_kind}_sid"] != parent["sid"]:
                path = "Tasks" if parent_kind == "task" else "Workers"
                raise not_found(f"/v1/Workspaces/{ws}/{path}/{parent['sid']}/Reservations/{sid}")
            return res
        return self.core.child_record(kind, ws, sid)

    def _view(self, kind: str, record: Record) -> dict[str, Any]:
        view = public(record)
        if kind == "task":
            view["age"] = max(0, int((self.core.now() - record["date_created"]).total_seconds()))
        return view

    @staticmethod
    def _check_etag(record: Record, if_match: str | None) -> None:
        if if_match is not None and if_match.strip('"') != str(record.get("_rev", 0)):
            raise precondition_failed(
                f"If-Match {if_match!r} does not match the current version of {record['sid']}"
            )

    # CRUD ------------------------------------------------------------------------------------
    def create(self, kind: str, scope: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            r = self.resources
            if kind == "workspace":
                return self._view(kind, r.create_workspace(params))
            ws = self._ws(scope)
            creators: dict[str, Callable[[str, dict[str, Any]], Record]] = {
                "activity": r.create_activity,
                "worker": r.create_worker,
                "task_queue": r.create_task_queue,
                "workflow": r.create_workflow,
                "task_channel": r.create_task_channel,
                "task": self.tasks.create_task,
            }
            if kind not in creators:
                raise TaskRouterError(
                    405, 20004, f"{kind} resources cannot be created through the API"
                )
            return self._view(kind, creators[kind](ws, params))

        return self._run(work)

    def fetch(self, kind: str, scope: dict[str, Any], sid: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            if kind == "event":
                ws = self._ws(scope)
                stored = self.store.fetch_event(ws, sid)
                if stored is None:
                    raise not_found(f"/v1/Workspaces/{ws}/Events/{sid}")
                return load_event(stored)
            return self._view(kind, self._find(kind, scope, sid))

        return self._run(work)

    def etag(self, kind: str, scope: dict[str, Any], sid: str) -> str:
        """The ETag of a record (for the ``ETag`` header and ``If-Match``)."""
        with self._lock:
            return str(self._find(kind, scope, sid).get("_rev", 0))

    def update(
        self,
        kind: str,
        scope: dict[str, Any],
        sid: str,
        params: dict[str, Any],
        if_match: str | None = None,
    ) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            if kind == "event":
                raise TaskRouterError(405, 20004, "Events are read-only")
            record = self._find(kind, scope, sid)
            self._check_etag(record, if_match)
            r = self.resources
            updaters: dict[str, Callable[[Record, dict[str, Any]], Record]] = {
                "workspace": r.update_workspace,
                "activity": r.update_activity,
                "worker": r.update_worker,
                "task_queue": r.update_task_queue,
                "workflow": r.update_workflow,
                "task_channel": r.update_task_channel,
                "worker_channel": r.update_worker_channel,
                "task": self.tasks.update_task,
                "reservation": self.tasks.update_reservation,
            }
            return self._view(kind, updaters[kind](record, params))

        return self._run(work)

    def delete(
        self, kind: str, scope: dict[str, Any], sid: str, if_match: str | None = None
    ) -> None:
        def work() -> None:
            if kind in ("event", "reservation", "worker_channel"):
                raise TaskRouterError(405, 20004, f"{kind} resources cannot be deleted")
            record = self._find(kind, scope, sid)
            self._check_etag(record, if_match)
            r = self.resources
            deleters: dict[str, Callable[[Record], None]] = {
                "workspace": r.delete_workspace,
                "activity": r.delete_activity,
                "worker": r.delete_worker,
                "task_queue": r.delete_task_queue,
                "workflow": r.delete_workflow,
                "task_channel": r.delete_task_channel,
                "task": self.tasks.delete_task,
            }
            deleters[kind](record)

        self._run(work)

    # lists -----------------------------------------------------------------------------------
    def list(
        self,
        kind: str,
        scope: dict[str, Any],
        filters: dict[str, Any] | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> ListPage:
        filters = {k: v for k, v in (filters or {}).items() if v is not None}
        size = listing.page_size(page_size)

        def work() -> ListPage:
            if kind == "event":
                return self.queries.events(scope, filters, size, page_token)
            items = self.queries.select(kind, scope, filters)
            return listing.paginate(items, size, page_token, lambda r: self._view(kind, r))

        return self._run(work)

    # statistics ------------------------------------------------------------------------------
    def statistics(
        self,
        target: str,
        scope: dict[str, Any],
        sid: str | None = None,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> dict[str, Any] | ListPage:
        """One statistics answer (see ``statistics.py``): ``target`` is ``<subject>.<view>``
        (``workspace.realtime``, ``task_queue.cumulative``, ``workers.statistics``, …, as in
        ``api/spec.py``'s ``STATISTICS_TARGETS``); ``sid`` the TaskQueue, Workflow or Worker;
        ``params`` the snake_case query (``minutes``, ``start_date``, ``end_date``,
        ``task_channel``, ``split_by_wait_time``, Worker and TaskQueue filters) or, for
        ``task_queues.realtime``, ``task_queue_sids``. ``task_queues.statistics`` is a page."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        size = listing.page_size(page_size)

        def work() -> dict[str, Any] | ListPage:
            ws = self._ws(scope)
            subject = target.split(".", 1)[0]
            workers: Records = []
            queues: Records = []
            if subject == "workers":
                keys = ("friendly_name", "task_queue_sid", "task_queue_name")
                workers = self.queries.select(
                    "worker", scope, {k: params[k] for k in keys if k in params}
                )
            elif target == "task_queues.statistics":
                names = {k: params[k] for k in ("friendly_name",) if k in params}
                queues = self.queries.select("task_queue", scope, names)
            elif target == "task_queues.realtime":
                queues = self.queries.bulk_queues(ws, params.get("task_queue_sids"))
            answer = self.stats.answer(target, ws, sid, params, Subjects(workers, queues))
            if isinstance(answer, list):
                return listing.paginate(answer, size, page_token, lambda item: item)
            return answer

        return self._run(work)

    # timers, callbacks, control --------------------------------------------------------------
    def tick(self) -> None:
        """Run every timer that is due (reservation timeouts, task TTLs, target timeouts)."""
        self._run(lambda: None)

    def next_deadline(self) -> datetime | None:
        """When the next timer is due (None when no timer is pending)."""
        with self._lock:
            return self.engine.next_deadline()

    def deliveries(self, limit: int | None = None) -> DeliveryList:
        """Assignment and event callback deliveries (the inspector), oldest first."""
        return self.dispatcher.deliveries(limit)

    def instructions(self, scope: dict[str, Any], reservation_sid: str) -> DeliveryList:
        """Voice instructions recorded on a reservation (what would have happened)."""
        with self._lock:
            return self.tasks.instruction_log(self._find("reservation", scope, reservation_sid))

    def _apply_reply(self, request: DeliveryRequest, parsed: ParsedReply | None) -> Applied:
        return self._run(lambda: self.tasks.apply_reply(request, parsed))

    def _persist_delivery(self, record: dict[str, Any]) -> None:
        """Keep a delivery record in the database, so the inspector survives a restart. A
        failure here is logged and never disturbs the delivery itself."""
        try:
            body = to_json(record, str).decode("utf-8")
            with self._lock:
                self.store.add_delivery(int(record["id"]), body, self.options.max_deliveries)
        except Exception:
            log.exception("could not store callback delivery %s", record.get("id"))

    def reset(self) -> None:
        """Empty the database (credentials are kept) and the inspector."""
        with self._lock:
            self.store.clear()
            self.state.discard_pending()
            self.state.clear_memory()
            self.core.outbox = []
            self.core.clear_attributes()
            self.engine.rebuild()
            self.dispatcher.clear()

    def seed_quickstart(self) -> dict[str, Any] | None:
        """Create the tutorial's workspace (§10) in an empty database; None if not empty."""

        def work() -> dict[str, Any] | None:
            if self.state.records["workspace"]:
                return None
            return self._view("workspace", seed(self.resources))

        return self._run(work)

    def close(self) -> None:
        """Stop the dispatcher and close the store."""
        self.dispatcher.close()
        with self._lock:
            self.store.close()

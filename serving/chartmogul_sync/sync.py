"""The sync: the warehouse's export marts into a ChartMogul custom data source.

    report = sync_chartmogul("warehouse/revenue.duckdb")          # settings from the env
    report = sync_chartmogul(warehouse, dry_run=True)             # what would be sent
    for line in report.summary(): print(line)

A run reads the export tables and its state (one read-only connection), decides what to
send (plan.py), then sends it in phases, each in a thread pool within the request budget:
the data source (found or created by name), plans, customers, each customer's invoices (new
ones in one import request, changed ones deleted and imported again, new transactions one
POST each, voided ones deleted), then cancellations. What ChartMogul took is recorded in the
state as it goes (written every few seconds while the pool keeps sending, and at the end,
in short transactions), so a run that dies or is stopped loses nothing: the next one sends
only what is left, and a create ChartMogul answers "already exists" is looked up and
adopted, never doubled.

One object failing never stops the others; an invoice whose customer or plan is not in
ChartMogul waits (failed: "customer not synced"). ChartMogul refusing connections after the
retries stops the run with one line (`ChartMogulSyncError`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial

from core.warehouse import Warehouse, WarehouseLockedError
from ingestion.chartmogul.client import (
    ChartMogulConfigError,
    ChartMogulError,
    ChartMogulUnavailable,
)

from .client import (
    ChartMogulGone,
    ChartMogulRejected,
    ChartMogulWriter,
    SyncStopped,
)
from .exports import ExportTablesMissing, read_inputs
from .payloads import (
    CANCELLATION,
    CUSTOMER,
    DATA_SOURCE,
    INVOICE,
    OBJECT_TYPES,
    PLAN,
    TRANSACTION,
    Outgoing,
    cancellation_body,
    content_hash,
    customer_create_body,
    customer_differs,
    customer_update_body,
    held_invoice_fingerprint,
    invoice_body,
    invoice_fingerprint,
    plan_create_body,
    plan_update_body,
    transaction_body,
)
from .plan import CancellationWork, InvoiceWork, Objects, Work, plan_work, sample_requests
from .report import SyncReport
from .settings import ENABLED_ENV, SyncSettings
from .state import SENT, LogRow, StateBook, StateRow, forget_state, utc_now, write

_log = logging.getLogger(__name__)
FINAL_WRITE_ATTEMPTS = 5


class ChartMogulSyncError(ChartMogulError):
    """The run stopped early (ChartMogul gone, or its data source unusable); what got
    through is recorded. `report` is the run's report so far."""

    def __init__(self, message: str, report: SyncReport | None = None):
        super().__init__(message)
        self.report = report


class ChartMogulSyncInputError(ChartMogulError):
    """The export tables are not in the warehouse (the models were not built)."""


def new_run_id() -> str:
    return f"{utc_now():%Y%m%dT%H%M%SZ}-{uuidlib.uuid4().hex[:6]}"


def sync_chartmogul(
    warehouse: Warehouse | str,
    *,
    settings: SyncSettings | None = None,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
    run_id: str | None = None,
    reset_state: bool = False,
) -> SyncReport:
    """Send what changed in the export marts to ChartMogul, or (dry_run) say what would be
    sent without a request or a write. Raises ChartMogulConfigError (no or refused key),
    ChartMogulSyncInputError (no export tables), WarehouseLockedError, ChartMogulSyncError
    (ChartMogul stopped answering, or the recorded state belongs to another data source).
    reset_state: forget what was recorded as sent first, so everything goes to the data
    source configured now (for a new ChartMogul account or data source)."""
    target = Warehouse.of(warehouse)
    settings = settings or SyncSettings.from_env()
    report = SyncReport(
        run_id=run_id or new_run_id(),
        api_base=settings.api_base,
        data_source_name=settings.data_source_name,
        dry_run=dry_run,
        started_at=utc_now(),
    )
    started = time.monotonic()
    if not dry_run and not settings.enabled:
        report.skipped = (
            f"disabled ({ENABLED_ENV} is false)"
            if settings.api_key
            else "no ChartMogul API key (CHARTMOGUL_API_KEY) is set"
        )
        return report
    if not dry_run:
        settings.require_key()
    if reset_state and not dry_run:
        forgotten = forget_state(target)
        if progress:
            progress(f"chartmogul sync: forgot the state of {forgotten:,} objects")
    try:
        inputs = read_inputs(target)
    except ExportTablesMissing as exc:
        raise ChartMogulSyncInputError(str(exc)) from None
    objects = Objects.build(inputs, settings)
    # a dry run with reset_state plans as if nothing had been sent (it deletes nothing)
    state = {} if reset_state else inputs.state
    book = StateBook(state, report.run_id, settings.park_after_failed_runs)
    work = plan_work(objects, book, settings, report)
    data_source = book.get(DATA_SOURCE, settings.data_source_name)
    report.planned = dict(work.planned)
    report.planned_requests = work.requests(
        settings, data_source is not None and data_source.chartmogul_uuid is not None
    )
    if dry_run:
        report.samples = sample_requests(work, objects, book, settings)
        report.backlog = book.backlog()
        _finish(report, started)
        return report
    target.check_writable()
    writer = ChartMogulWriter(settings)
    try:
        _Run(target, settings, writer, book, report, objects, work, progress).run()
    finally:
        writer.close()
        _finish(report, started)
    return report


def _source_label(settings: SyncSettings) -> str:
    return f"data source {settings.data_source_name!r} at {settings.api_base}"


def _data_source_hash(settings: SyncSettings) -> str:
    # which ChartMogul the state belongs to: the data source's name and the API's address
    return content_hash({"name": settings.data_source_name, "api_base": settings.api_base})


def _recorded_elsewhere(book: StateBook, uuid: str | None) -> StateRow | None:
    """The data source the recorded objects were sent to, when objects are recorded and
    `uuid` (the configured data source, None: none of that name yet) is not it."""
    sources = [row for row in book.rows(DATA_SOURCE) if row.chartmogul_uuid]
    if not sources or uuid in {row.chartmogul_uuid for row in sources}:
        return None
    if not any(row.object_type != DATA_SOURCE for row in book.rows()):
        return None  # nothing was recorded against the other one
    return max(sources, key=lambda row: str(row.last_sent_at or row.first_sent_at or ""))


def _finish(report: SyncReport, started: float) -> None:
    report.finished_at = utc_now()
    report.seconds = time.monotonic() - started


@dataclass
class _Task:
    """One unit of work in a phase (a plan, a customer, a customer's invoices ...): `size`
    objects for the progress line, `fail_all` when it breaks unexpectedly."""

    run: Callable[[], None]
    size: int
    fail_all: Callable[[str], None]


class _Run:
    def __init__(
        self,
        warehouse: Warehouse,
        settings: SyncSettings,
        writer: ChartMogulWriter,
        book: StateBook,
        report: SyncReport,
        objects: Objects,
        work: Work,
        progress: Callable[[str], None] | None,
    ):
        self.warehouse = warehouse
        self.settings = settings
        self.writer = writer
        self.book = book
        self.report = report
        self.objects = objects
        self.work = work
        self.progress = progress
        self.data_source_uuid: str | None = None
        self._lock = threading.Lock()
        # subscription external id -> ChartMogul's uuid, from the invoice imports' answers:
        # a cancellation of a subscription imported in this run needs no listing
        self._subscription_uuids: dict[str, str] = {}
        self._done = 0
        self._sending_started = time.monotonic()
        self._last_progress = self._last_flush = time.monotonic()
        # invoices deleted to be imported again this run (counted as updated)
        self._reimported: set[str] = set()
        self._held_before = {
            r.external_id for r in book.rows(TRANSACTION) if r.content_hash is not None
        }

    # ------------------------------------------------------------------ the phases

    def run(self) -> None:
        try:
            # a data source other than the recorded one is looked up even with nothing to
            # send: the recorded state may say nothing of it
            recorded = self.book.get(DATA_SOURCE, self.settings.data_source_name)
            known = recorded is not None and recorded.content_hash == _data_source_hash(
                self.settings
            )
            if not self.work.empty or (not known and self.book.rows()):
                self._data_source()
                self._phase(PLAN, self._plan_tasks(), "plans")
                self._phase(CUSTOMER, self._customer_tasks(), "customers")
                self._phase(INVOICE, self._invoice_tasks(), "invoices", also=(TRANSACTION,))
                self._phase(CANCELLATION, self._cancellation_tasks(), "cancellations")
        except (ChartMogulGone, SyncStopped, ChartMogulConfigError):
            pass  # the writer knows why; handled below
        self.report.sending_seconds = time.monotonic() - self._sending_started
        self._count_requests()
        if self.writer.stopped.is_set():
            self.book.forgive_unavailable()
            self.report.stopped = self.writer.stop_reason
        self.report.newly_parked = list(self.book.newly_parked)
        self.report.backlog = self.book.backlog()
        self._flush(final=True, log_types=OBJECT_TYPES)
        if self.writer.stopped.is_set():
            reason = self.writer.stop_reason or "no answer"
            if reason.startswith("ChartMogul refused the API key"):
                raise ChartMogulConfigError(reason)
            completed = self.writer.completed
            planned = max(self.report.planned_requests, completed)
            raise ChartMogulSyncError(
                f"ChartMogul at {self.settings.api_base} stopped answering after "
                f"{completed:,} of {planned:,} requests: {reason}; nothing was "
                "lost, run the sync again to finish",
                self.report,
            )

    def _phase(
        self, object_type: str, tasks: list[_Task], label: str, also: Iterable[str] = ()
    ) -> None:
        if self.writer.stopped.is_set():
            raise SyncStopped(self.writer.stop_reason or "stopped")
        total = sum(t.size for t in tasks)
        self._done = 0
        started = time.monotonic()
        if tasks:
            with ThreadPoolExecutor(
                max_workers=self.settings.concurrency, thread_name_prefix=f"chartmogul-{label}"
            ) as pool:
                pending = {pool.submit(self._guarded, task) for task in tasks}
                tick = max(
                    0.05, min(self.settings.progress_seconds, self.settings.flush_seconds, 1.0)
                )
                while pending:
                    _, pending = wait(pending, timeout=tick)
                    self._progress(label, total)
                    if time.monotonic() - self._last_flush >= self.settings.flush_seconds:
                        # on this thread while the pool keeps sending
                        self._count_requests()
                        self._flush(log_types=OBJECT_TYPES)
                    if self.writer.stopped.is_set():
                        for future in pending:
                            future.cancel()
        self._count_requests()
        types = (object_type, *also)
        if self.progress and tasks:
            counts = "; ".join(f"{t}s {self.report.counts[t].line()}" for t in types)
            self.progress(
                f"chartmogul sync: {label} done in {time.monotonic() - started:.1f} s: {counts}"
            )
        if self.writer.stopped.is_set():
            raise SyncStopped(self.writer.stop_reason or "stopped")

    def _guarded(self, task: _Task) -> None:
        try:
            task.run()
        except (ChartMogulGone, SyncStopped, ChartMogulConfigError):
            pass  # the writer stops the run; what got through is recorded
        except Exception as exc:  # a bug must not stop the other objects
            _log.exception("chartmogul sync: unexpected error")
            task.fail_all(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._done += task.size

    def _progress(self, label: str, total: int) -> None:
        now = time.monotonic()
        if not self.progress or now - self._last_progress < self.settings.progress_seconds:
            return
        self._last_progress = now
        rate = self.writer.requests / max(now - self._sending_started, 1e-9)
        self.progress(f"chartmogul sync: {label} {self._done:,}/{total:,} sent ({rate:.1f} req/s)")

    def _count_requests(self) -> None:
        by_type = self.writer.requests_per_type()
        for object_type in OBJECT_TYPES:
            self.report.counts[object_type].requests = by_type.get(object_type, 0)

    # ------------------------------------------------------------------ the state

    def _log_row(self, object_type: str) -> LogRow:
        counts = self.report.counts[object_type]
        return LogRow(
            run_id=self.report.run_id,
            object_type=object_type,
            started_at=self.report.started_at or utc_now(),
            finished_at=utc_now(),
            created=counts.created,
            updated=counts.updated,
            deleted=counts.deleted,
            unchanged=counts.unchanged,
            failed=counts.failed,
            refused=counts.refused,
            parked=counts.parked,
            requests=counts.requests,
            error_details=counts.error_details(),
            dry_run=False,
        )

    def _flush(self, final: bool = False, log_types: Iterable[str] = ()) -> None:
        """Write what changed; a locked warehouse is tried again later (at the end, a few
        times, then the error goes up: the next run adopts what this one sent)."""
        self._last_flush = time.monotonic()
        for attempt in range(FINAL_WRITE_ATTEMPTS if final else 1):
            rows = self.book.take_dirty()
            logs = [self._log_row(t) for t in log_types]
            try:
                write(self.warehouse, rows, logs)
                return
            except WarehouseLockedError as exc:
                self.book.put_back(rows)
                if final and attempt + 1 == FINAL_WRITE_ATTEMPTS:
                    raise
                _log.warning("chartmogul sync: state not written yet: %s", exc)
                if final:
                    time.sleep(2)
            except Exception:
                self.book.put_back(rows)
                if final:
                    raise
                _log.exception("chartmogul sync: state not written yet")
                return

    # ------------------------------------------------------------------ outcomes

    def _fail(
        self,
        outgoing: Outgoing,
        error: str,
        *,
        attempted: bool = True,
        unavailable: bool = False,
    ) -> None:
        self.book.failed(
            outgoing.object_type,
            outgoing.external_id,
            error,
            self.objects.attempt_hash(outgoing),
            outgoing.owner,
            attempted=attempted,
            unavailable=unavailable,
        )
        self.report.add(outgoing.object_type, "failed")
        self.report.error(outgoing.object_type, outgoing.external_id, error)

    def _attempt(self, outgoing: Outgoing, send: Callable[[], None]) -> bool:
        """Run `send` (requests and what they record) for one object; a failure is
        recorded against it. ChartMogul gone: recorded, then the task stops."""
        try:
            send()
            return True
        except ChartMogulRejected as exc:
            self._fail(outgoing, str(exc))
        except ChartMogulUnavailable as exc:
            self._fail(outgoing, str(exc), unavailable=True)
        except ChartMogulGone as exc:
            self._fail(outgoing, str(exc), unavailable=True)
            raise
        return False

    def _uuid(self, object_type: str, external_id: str) -> str | None:
        """ChartMogul's uuid of an object it holds (None: not synced)."""
        row = self.book.get(object_type, external_id)
        if row is None or row.content_hash is None:
            return None
        return row.chartmogul_uuid

    def _fail_each(self, items: Iterable[Outgoing]) -> Callable[[str], None]:
        def fail_all(error: str) -> None:
            for outgoing in items:
                self._fail(outgoing, error)

        return fail_all

    # ------------------------------------------------------------------ data source

    def _data_source(self) -> None:
        name = self.settings.data_source_name
        row = self.book.get(DATA_SOURCE, name)
        if (
            row is not None
            and row.chartmogul_uuid
            and row.content_hash == _data_source_hash(self.settings)
        ):
            self.data_source_uuid = row.chartmogul_uuid
            return
        created = False
        try:
            uuid = self.writer.find_data_source(name)
            elsewhere = _recorded_elsewhere(self.book, uuid)
            if elsewhere is not None:
                # the recorded state says nothing of this data source: sending on it would
                # skip everything it never got
                raise ChartMogulSyncError(
                    f"the sync state in {self.warehouse} (chartmogul_sync.object_state) "
                    f"records what was sent to data source {elsewhere.external_id!r} "
                    f"({elsewhere.chartmogul_uuid}), not to {_source_label(self.settings)}; "
                    "to send everything there, run `revwh chartmogul sync --reset-state`",
                    self.report,
                )
            if uuid is None:
                try:
                    uuid, created = self.writer.create_data_source(name), True
                except ChartMogulRejected as exc:
                    if not exc.already_exists:
                        raise
                    uuid = self.writer.find_data_source(name)
        except (ChartMogulRejected, ChartMogulUnavailable) as exc:
            self._data_source_failed(str(exc))
        if uuid is None:
            self._data_source_failed("ChartMogul lists no data source of that name")
        self.book.sent(DATA_SOURCE, name, uuid, _data_source_hash(self.settings))
        self.report.add(DATA_SOURCE, "created" if created else "unchanged")
        self.data_source_uuid = uuid

    def _data_source_failed(self, error: str):
        self.report.add(DATA_SOURCE, "failed")
        self.report.error(DATA_SOURCE, self.settings.data_source_name, error)
        self._count_requests()
        self._flush(final=True, log_types=OBJECT_TYPES)
        raise ChartMogulSyncError(
            f"the ChartMogul data source {self.settings.data_source_name!r} at "
            f"{self.settings.api_base} could not be found or created: {error}",
            self.report,
        )

    # ------------------------------------------------------------------ plans

    def _plan_tasks(self) -> list[_Task]:
        tasks = [
            _Task(partial(self._create_plan, o), 1, self._fail_each([o]))
            for o in self.work.plan_creates
        ]
        tasks += [
            _Task(partial(self._update_plan, o, u), 1, self._fail_each([o]))
            for o, u in self.work.plan_updates
        ]
        return tasks

    def _create_plan(self, outgoing: Outgoing) -> None:
        def send() -> None:
            body = plan_create_body(outgoing.content, self.data_source_uuid or "")
            try:
                uuid, action = self.writer.create_plan(body), "created"
            except ChartMogulRejected as exc:
                if not exc.already_exists:
                    raise
                found = self.writer.find_plan(self.data_source_uuid or "", outgoing.external_id)
                if found is None:
                    raise
                # adopted (a run that died before it recorded it): made ours as it is now
                uuid, action = found.uuid, "created"
                wanted = plan_update_body(outgoing.content)
                if any(getattr(found, k, None) != v for k, v in wanted.items()):
                    self.writer.update_plan(uuid, wanted)
            self.book.sent(PLAN, outgoing.external_id, uuid, outgoing.hash)
            self.report.add(PLAN, action)

        self._attempt(outgoing, send)

    def _update_plan(self, outgoing: Outgoing, uuid: str) -> None:
        def send() -> None:
            self.writer.update_plan(uuid, plan_update_body(outgoing.content))
            self.book.sent(PLAN, outgoing.external_id, uuid, outgoing.hash)
            self.report.add(PLAN, "updated")

        self._attempt(outgoing, send)

    # ------------------------------------------------------------------ customers

    def _customer_tasks(self) -> list[_Task]:
        tasks = [
            _Task(partial(self._create_customer, o), 1, self._fail_each([o]))
            for o in self.work.customer_creates
        ]
        tasks += [
            _Task(partial(self._update_customer, o, u), 1, self._fail_each([o]))
            for o, u in self.work.customer_updates
        ]
        return tasks

    def _create_customer(self, outgoing: Outgoing) -> None:
        def send() -> None:
            body = customer_create_body(outgoing.content, self.data_source_uuid or "")
            try:
                uuid = self.writer.create_customer(body)
            except ChartMogulRejected as exc:
                if not exc.already_exists:
                    raise
                # a run that died after ChartMogul stored it, or someone else: adopt it
                found = self.writer.find_customer(self.data_source_uuid or "", outgoing.external_id)
                if found is None:
                    raise
                uuid = found.uuid
                if customer_differs(outgoing.content, found):
                    self.writer.update_customer(uuid, customer_update_body(outgoing.content))
            self.book.sent(CUSTOMER, outgoing.external_id, uuid, outgoing.hash)
            self.report.add(CUSTOMER, "created")

        self._attempt(outgoing, send)

    def _update_customer(self, outgoing: Outgoing, uuid: str) -> None:
        def send() -> None:
            self.writer.update_customer(uuid, customer_update_body(outgoing.content))
            self.book.sent(CUSTOMER, outgoing.external_id, uuid, outgoing.hash)
            self.report.add(CUSTOMER, "updated")

        self._attempt(outgoing, send)

    # ------------------------------------------------------------------ invoices

    def _invoice_tasks(self) -> list[_Task]:
        tasks = []
        for customer, work in self.work.invoices.items():
            objects = [
                *work.creates,
                *(o for o, _ in work.reimports),
                *(o for o, _, _ in work.transactions),
            ]
            size = len(objects) + len(work.deletes)
            tasks.append(
                _Task(
                    partial(self._customer_invoices, customer, work),
                    size,
                    self._fail_each(objects),
                )
            )
        return tasks

    def _customer_invoices(self, customer: str, work: InvoiceWork) -> None:
        for external_id, uuid in work.deletes:
            self._delete_gone_invoice(customer, external_id, uuid)
        customer_uuid = self._uuid(CUSTOMER, customer)
        if customer_uuid is None:
            for outgoing in [*work.creates, *(o for o, _ in work.reimports)]:
                self._fail(outgoing, "customer not synced", attempted=False)
            for outgoing, _, _ in work.transactions:
                self._fail(outgoing, "customer not synced", attempted=False)
            return
        ready = [o for o in work.creates if self._plans_synced(o)]
        for outgoing, uuid in work.reimports:
            if self._plans_synced(outgoing) and self._attempt(
                outgoing, partial(self.writer.delete_invoice, uuid)
            ):
                self._forget(outgoing.external_id)
                ready.append(outgoing)
        ready.sort(key=lambda o: (o.content["date"] or "", o.external_id))
        held: dict = {}  # the customer's invoices in ChartMogul, listed once when needed
        size = self.settings.batch_size
        for start in range(0, len(ready), size):
            self._import(customer_uuid, ready[start : start + size], held)
        for outgoing, uuid, transactions in work.transactions:
            for transaction in transactions:
                self._add_transaction(outgoing, uuid, transaction)

    def _plans_synced(self, invoice: Outgoing) -> bool:
        missing = [p for p in invoice.needs if self._uuid(PLAN, p) is None]
        if missing:
            self._fail(invoice, f"plan not synced: {', '.join(missing)}", attempted=False)
            return False
        return True

    def _forget(self, invoice_id: str) -> None:
        """The invoice was deleted from ChartMogul (to be imported again)."""
        self._reimported.add(invoice_id)
        self.book.forget_uuid(INVOICE, invoice_id)
        for transaction_id in self.work.sent_transactions_of.get(invoice_id, []):
            self.book.forget_uuid(TRANSACTION, transaction_id)

    def _delete_gone_invoice(self, customer: str, external_id: str, uuid: str) -> None:
        gone = Outgoing(INVOICE, external_id, {"external_id": external_id}, owner=customer)

        def send() -> None:
            self.writer.delete_invoice(uuid)
            self.book.deleted(INVOICE, external_id)
            for transaction_id in self.work.sent_transactions_of.get(external_id, []):
                self.book.deleted(TRANSACTION, transaction_id)
            self.report.add(INVOICE, "deleted")

        self._attempt(gone, send)

    def _import(self, customer_uuid: str, chunk: list[Outgoing], held: dict, adopt=True) -> None:
        plan_uuids = {p: self._uuid(PLAN, p) or "" for o in chunk for p in o.needs}
        bodies = [
            invoice_body(
                o.content,
                [t.content for t in self.objects.invoice_transactions(o.external_id)],
                plan_uuids,
            )
            for o in chunk
        ]
        try:
            imported = self.writer.import_invoices(customer_uuid, bodies)
        except ChartMogulRejected as exc:
            if len(chunk) > 1:  # all or nothing: one by one, so one bad invoice blocks none
                for outgoing in chunk:
                    self._import(customer_uuid, [outgoing], held, adopt)
            elif exc.already_exists and adopt:
                self._adopt_invoice(customer_uuid, chunk[0], held)
            else:
                self._fail(chunk[0], str(exc))
            return
        except ChartMogulUnavailable as exc:
            for outgoing in chunk:
                self._fail(outgoing, str(exc), unavailable=True)
            return
        except ChartMogulGone as exc:
            for outgoing in chunk:
                self._fail(outgoing, str(exc), unavailable=True)
            raise
        by_id = {getattr(i, "external_id", None): i for i in imported}
        self._remember_subscriptions(imported)
        for outgoing in chunk:
            self._record_invoice(outgoing, by_id.get(outgoing.external_id))

    def _remember_subscriptions(self, invoices: list) -> None:
        found = {
            line.subscription_external_id: line.subscription_uuid
            for invoice in invoices
            for line in getattr(invoice, "line_items", None) or ()
            if getattr(line, "subscription_external_id", None)
            and getattr(line, "subscription_uuid", None)
        }
        with self._lock:
            self._subscription_uuids.update(found)

    def _record_invoice(self, outgoing: Outgoing, held) -> None:
        customer = outgoing.owner
        self.book.sent(
            INVOICE, outgoing.external_id, getattr(held, "uuid", None), outgoing.hash, customer
        )
        reimported = outgoing.external_id in self._reimported
        self.report.add(INVOICE, "updated" if reimported else "created")
        held_transactions = {
            getattr(t, "external_id", None): getattr(t, "uuid", None)
            for t in getattr(held, "transactions", None) or []
        }
        for transaction in self.objects.invoice_transactions(outgoing.external_id):
            self.book.sent(
                TRANSACTION,
                transaction.external_id,
                held_transactions.get(transaction.external_id),
                transaction.hash,
                outgoing.external_id,
            )
            known = transaction.external_id in self._held_before
            self.report.add(TRANSACTION, "updated" if known else "created")

    def _adopt_invoice(self, customer_uuid: str, outgoing: Outgoing, held: dict) -> None:
        """ChartMogul holds an invoice with this external id (a run that died before it
        recorded it): ours as it is when it matches, else deleted and imported again."""

        def send() -> None:
            if "invoices" not in held:
                held["invoices"] = {
                    i.external_id: i for i in self.writer.customer_invoices(customer_uuid)
                }
            found = held["invoices"].get(outgoing.external_id)
            if found is None:
                raise ChartMogulRejected(
                    f"invoice {outgoing.external_id} exists in ChartMogul, but not for this "
                    "customer",
                    422,
                    "",
                )
            transactions = [
                t.content for t in self.objects.invoice_transactions(outgoing.external_id)
            ]
            if held_invoice_fingerprint(found) == invoice_fingerprint(
                outgoing.content, transactions
            ):
                self._record_invoice(outgoing, found)
                return
            self.writer.delete_invoice(found.uuid)
            self._reimported.add(outgoing.external_id)
            self._import(customer_uuid, [outgoing], held, adopt=False)

        self._attempt(outgoing, send)

    def _add_transaction(self, invoice: Outgoing, invoice_uuid: str, transaction: Outgoing) -> None:
        def send() -> None:
            try:
                uuid = self.writer.add_transaction(
                    invoice_uuid, transaction_body(transaction.content)
                )
            except ChartMogulRejected as exc:
                if not exc.already_exists:
                    raise
                uuid = None  # sent by a run that died before it recorded it
            self.book.sent(
                TRANSACTION, transaction.external_id, uuid, transaction.hash, invoice.external_id
            )
            self.report.add(TRANSACTION, "created")

        self._attempt(transaction, send)

    # ------------------------------------------------------------------ cancellations

    def _cancellation_tasks(self) -> list[_Task]:
        return [
            _Task(
                partial(self._customer_cancellations, customer, items),
                len(items),
                self._fail_each([i.outgoing for i in items]),
            )
            for customer, items in self.work.cancellations.items()
        ]

    def _customer_cancellations(self, customer: str, items: list[CancellationWork]) -> None:
        subscriptions: dict[str, str] | None = None
        with self._lock:
            imported = {
                i.outgoing.external_id: self._subscription_uuids[i.outgoing.external_id]
                for i in items
                if i.uuid is None and i.outgoing.external_id in self._subscription_uuids
            }
        if imported and all(i.uuid or i.outgoing.external_id in imported for i in items):
            subscriptions = imported  # every uuid came with this run's imports: no listing
        elif any(i.uuid is None for i in items):
            customer_uuid = self._uuid(CUSTOMER, customer)
            lookup = next(i.outgoing for i in items if i.uuid is None)
            if customer_uuid is not None:
                found: dict[str, str] = {}

                def list_them() -> None:
                    found.update(self.writer.imported_subscriptions(customer_uuid))

                if self._attempt(lookup, list_them):
                    subscriptions = found
                else:
                    # the listing failed: the one it was charged to is failed, the others wait
                    items = [i for i in items if i.outgoing is not lookup]
        for item in items:
            uuid = item.uuid or (subscriptions or {}).get(item.outgoing.external_id)
            if uuid is None:
                self._no_subscription(customer, item, subscriptions is not None)
                continue
            self._cancel(item, uuid)

    def _no_subscription(self, customer: str, item: CancellationWork, listed: bool) -> None:
        subscription = item.outgoing.external_id
        if item.action == "uncancel":
            self.book.deleted(CANCELLATION, subscription)  # nothing left to take back
            self.report.add(CANCELLATION, "deleted")
        elif self._uuid(CUSTOMER, customer) is None:
            self._fail(item.outgoing, "customer not synced", attempted=False)
        elif not listed:
            self._fail(
                item.outgoing, "the customer's subscriptions could not be listed", attempted=False
            )
        elif self._invoices_not_synced(subscription):
            self._fail(item.outgoing, "invoices not synced", attempted=False)
        else:
            self._fail(
                item.outgoing,
                f"subscription {subscription} is not in ChartMogul (no invoice line of it "
                "was imported)",
            )

    def _invoices_not_synced(self, subscription: str) -> bool:
        for invoice_id in self.objects.invoices_of_subscription.get(subscription, ()):
            row = self.book.get(INVOICE, invoice_id)
            if row is None or row.status != SENT or row.content_hash is None:
                return True
        return False

    def _cancel(self, item: CancellationWork, uuid: str) -> None:
        outgoing = item.outgoing

        def send() -> None:
            try:
                self.writer.set_cancellation_dates(uuid, cancellation_body(outgoing.content))
            except ChartMogulRejected as exc:
                if not (exc.not_found and item.action == "uncancel"):
                    raise
            if item.action == "uncancel":
                self.book.deleted(CANCELLATION, outgoing.external_id)
                self.report.add(CANCELLATION, "deleted")
                return
            self.book.sent(CANCELLATION, outgoing.external_id, uuid, outgoing.hash, outgoing.owner)
            self.report.add(CANCELLATION, "created" if item.action == "create" else "updated")

        self._attempt(outgoing, send)

"""Bulk imports of practices, members, memberships, employments and claims (design.md §3.1).

A request is spooled (bounded memory), checked against its Idempotency-Key, and then either run
at once (small) or stored in chunks and run by a Celery task (large). Either way the rows are read
as a stream, IMPORT_SLICE_ROWS at a time; each slice costs a fixed number of queries, however
many rows it holds. An atomic batch runs in one transaction and is rolled back whole at the first
bad row (its other rows still checked, so every error is reported); a queued partial batch
commits slice by slice with its progress, so a worker that dies mid-batch resumes where it
stopped.

Upserts are on natural keys. A record that matches a stored one changes only the fields it gives
(docs/api.md): a sender re-sending a claim never wipes what a handler recorded since.
"""

import contextlib
import datetime
import hashlib
import logging
import tempfile
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import IO, Any, Protocol

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    models,
    transaction,
)
from django.db.models import F
from django.utils import timezone

from audit.services import (
    Actor,
    AuditSubject,
    audit_diff,
    audit_lines,
    audit_lines_write,
    audit_record_many,
    audit_snapshot,
    audit_snapshot_of_row,
)
from claims import import_records as spec
from claims.deadline_services import (
    NewDeadlines,
    claims_deadlines_recompute,
    deadline_rules,
    new_claims_deadlines,
    new_deadlines_store,
    service_levels_fingerprint,
)
from claims.import_parsing import BodyError, body_format, file_chunks, records
from claims.models import (
    DEADLINE_INPUT_FIELDS,
    REROUTE_FIELDS,
    Claim,
    ClaimClinician,
    Deadline,
    DeadlineChange,
    ImportBatch,
    ImportChunk,
    Reserve,
    Status,
    incident_as_one_fact,
)
from claims.routing_services import (
    CLAIM_ROW_COLUMNS,
    ROUTING_WRITES,
    ClaimRow,
    DecisionWrites,
    claims_decide,
    claims_of_members_reroute,
    claims_route,
    decision_writes_store,
    new_claims_decision_writes,
    organisation_ids,
)
from claims.selectors import (
    claim_duplicate_key,
    claims_by_sender_reference,
    claims_current_reserves,
    claims_earliest_by_duplicate_key,
)
from claims.services import claim_merged_problems, claims_duplicates_recheck
from config.api_errors import api_error
from config.bulk_pace import paced_for_bulk
from config.postgres_copy import (
    AnyOf,
    array_literal,
    constraints_checked_per_statement,
    copy_into,
    copy_lines,
    copy_text,
    ids_allocate,
)
from handlers.models import NHSR_CODE, Handler, HandlerOrganisation
from handlers.permissions import handler_for, is_caseworker
from members.models import DefenceOrganisation, Employment, Member, Membership, Practice
from members.selectors import member_ids_by_key, members_by_key, practice_ids_by_code
from schemes.selectors import agreements_as_facts, cover_book_for

logger = logging.getLogger(__name__)

# The most rows one bulk statement carries (slices are IMPORT_SLICE_ROWS, 2,000 by default).
SUB_BATCH = 2000
CHUNK_BYTES = 1024 * 1024


class PayloadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is larger than the {limit:,}-byte limit: split the batch.")


class IdempotencyConflict(Exception):
    def __init__(self, batch: ImportBatch) -> None:
        super().__init__(
            f"Idempotency-Key already used for batch {batch.pk} with a different body; "
            "use a new key for new content."
        )
        self.batch = batch


@dataclass
class Submission:
    batch: ImportBatch
    replayed: bool = False


def may_import(user) -> bool:
    """Importers (systems) and NHSR caseworkers send bulk data (design.md §2)."""
    handler = handler_for(user)
    return is_caseworker(user) or (handler is not None and handler.role == Handler.Role.IMPORTER)


def _sender(user) -> HandlerOrganisation:
    handler = handler_for(user)
    if handler is not None:
        return handler.organisation
    return HandlerOrganisation.objects.get(code=NHSR_CODE)


def _spool(stream: IO[bytes], *, kind: str, mode: str, limit: int):
    """Copy the request body to a spooled file (memory up to a megabyte, then disk), hashing it
    with the kind and mode, and refusing it once it passes the limit."""
    # Returned open: the caller reads it back and closes it.
    spool = tempfile.SpooledTemporaryFile(max_size=CHUNK_BYTES)  # noqa: SIM115
    digest = hashlib.sha256(f"{kind}\n{mode}\n".encode())
    size = 0
    for chunk in file_chunks(stream, 64 * 1024):
        size += len(chunk)
        if size > limit:
            spool.close()
            raise PayloadTooLarge(limit)
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    return spool, digest.hexdigest()


def _spooled_chunks(spool) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        spool.seek(0)
        yield from file_chunks(spool)

    return chunks


def _replay(batch: ImportBatch, body_hash: str) -> Submission:
    if batch.body_hash != body_hash:
        raise IdempotencyConflict(batch)
    return Submission(batch=batch, replayed=True)


def _count(
    content_type: str, chunks: Callable[[], Iterator[bytes]]
) -> tuple[int, BodyError | None]:
    """How many records the body holds, reading it once as a stream, so that progress has its
    total from the first poll and an unreadable body is refused before any row is written."""
    total = 0
    try:
        for _ in records(content_type, chunks(), count_only=True):
            total += 1
    except BodyError as error:
        return total, error
    return total, None


def import_submit(
    *,
    actor: Actor,
    kind: str,
    mode: str,
    content_type: str,
    stream: IO[bytes],
    idempotency_key: str = "",
) -> Submission:
    """Take one bulk-import request. Raises BodyError (the body as a whole is unreadable),
    PayloadTooLarge, IdempotencyConflict or PermissionDenied; row errors are in the batch."""
    if not may_import(actor):
        raise PermissionDenied("Only importers and caseworkers send bulk imports.")
    body_format(content_type)
    spool, body_hash = _spool(stream, kind=kind, mode=mode, limit=settings.IMPORT_MAX_BODY_BYTES)
    with spool:
        key = idempotency_key.strip()
        if key:
            earlier = ImportBatch.objects.filter(created_by=actor, idempotency_key=key).first()
            if earlier is not None:
                return _replay(earlier, body_hash)
        chunks = _spooled_chunks(spool)
        total, unreadable = _count(content_type, chunks)
        large = unreadable is None and total > settings.IMPORT_SYNC_MAX_ROWS
        try:
            # A racing twin with the same key blocks on the unique index until this commits,
            # then finds this batch and answers with its result: one batch, one result.
            with transaction.atomic():
                batch = ImportBatch.objects.create(
                    kind=kind,
                    mode=mode,
                    created_by=actor,
                    organisation=_sender(actor),
                    idempotency_key=key,
                    body_hash=body_hash,
                    content_type=content_type[:100],
                    status=(
                        ImportBatch.BatchStatus.QUEUED if large else ImportBatch.BatchStatus.RUNNING
                    ),
                    started_at=None if large else timezone.now(),
                    rows_total=total,
                    queued=large,
                )
                if unreadable is not None:
                    _reject_body(batch, unreadable)
                elif large:
                    _store_chunks(batch, chunks())
                    transaction.on_commit(lambda: _queue(batch.pk))
                else:
                    _run(batch, chunks, queued=False)
        except IntegrityError:
            if not key:
                raise
            earlier = ImportBatch.objects.get(created_by=actor, idempotency_key=key)
            return _replay(earlier, body_hash)
    batch.refresh_from_db()
    return Submission(batch=batch)


def _queue(batch_id: int) -> None:
    from claims.tasks import import_batch_run_task

    import_batch_run_task.delay(batch_id)


def _store_chunks(batch: ImportBatch, chunks: Iterator[bytes]) -> None:
    """Store the body in pieces of about a megabyte, one insert per piece."""
    buffer, seq = bytearray(), 0
    for chunk in chunks:
        buffer += chunk
        if len(buffer) >= CHUNK_BYTES:
            ImportChunk.objects.create(batch=batch, seq=seq, body=bytes(buffer))
            buffer, seq = bytearray(), seq + 1
    if buffer or seq == 0:
        ImportChunk.objects.create(batch=batch, seq=seq, body=bytes(buffer))


def _stored_chunks(batch_id: int) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        ids = (
            ImportChunk.objects.filter(batch_id=batch_id)
            .order_by("seq")
            .values_list("pk", flat=True)
        )
        for pk in list(ids):
            yield bytes(ImportChunk.objects.values_list("body", flat=True).get(pk=pk))

    return chunks


def import_batch_run(*, batch_id: int, last_attempt: bool = True) -> None:
    """Run a queued batch (the Celery task). Safe to run twice and to resume after a crash: rows
    before `rows_done` were committed with their counts and errors, and are skipped. A
    transient database error is raised for the task to retry, unless this is its last attempt:
    then the batch says it failed, and how far it got."""
    batch = ImportBatch.objects.select_related("created_by").filter(pk=batch_id).first()
    if batch is None or batch.status not in (
        ImportBatch.BatchStatus.QUEUED,
        ImportBatch.BatchStatus.RUNNING,
    ):
        return
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportBatch.BatchStatus.RUNNING, started_at=batch.started_at or timezone.now()
    )
    batch.status = ImportBatch.BatchStatus.RUNNING
    try:
        _run(batch, _stored_chunks(batch.pk), queued=True)
    except DatabaseError as error:
        done = ImportBatch.objects.values_list("rows_done", flat=True).get(pk=batch.pk)
        if _transient(error) and not last_attempt:
            raise  # the task retries and resumes from rows_done
        _fail(batch, done, error)
        raise
    except Exception as error:
        done = ImportBatch.objects.values_list("rows_done", flat=True).get(pk=batch.pk)
        _fail(batch, done, error)
        raise
    if batch.created + batch.updated:  # as _run_batch read them back
        from claims.tasks import statistics_refresh_later

        statistics_refresh_later(
            IMPORTERS[batch.kind].writes,
            changed=batch.created + batch.updated,
            after=f"import {batch.pk}",
        )


def _fail(batch: ImportBatch, done: int, error: Exception) -> None:
    # An atomic batch's writes were rolled back with its transaction, whatever its progress said.
    applied = done if batch.mode == ImportBatch.Mode.PARTIAL else 0
    _finish(batch, ImportBatch.BatchStatus.FAILED, _failure(applied, batch.rows_total, error))
    batch.refresh_from_db()
    import_finished_notify(batch=batch)


def _transient(error: DatabaseError) -> bool:
    from django.db import OperationalError

    return isinstance(error, OperationalError)


def _failure(done: int, total: int, error: Exception) -> str:
    applied = (
        f"{done:,} of {total:,} rows were applied before it stopped"
        if done
        else "no row was applied"
    )
    return f"The batch failed and {applied}: {error}"[:2000]


def _finish(batch: ImportBatch, status: str, failure: str = "") -> None:
    changes: dict[str, Any] = {"status": status, "failure": failure}
    if failure:
        # Said in the errors too, so every answer carries its reason in the one error shape;
        # and the Idempotency-Key is let go, so that the sender can retry with it.
        changes["errors"] = [api_error("import_failed", failure)]
        changes["idempotency_key"] = ""
    ImportBatch.objects.filter(pk=batch.pk).update(finished_at=timezone.now(), **changes)
    ImportChunk.objects.filter(batch_id=batch.pk).delete()


def _slices(rows: Iterator[tuple[int, Any]]) -> Iterator[list[tuple[int, Any]]]:
    size = settings.IMPORT_SLICE_ROWS
    while piece := list(islice(rows, size)):
        yield piece


@dataclass
class _Run:
    """What a batch remembers from one slice to the next."""

    batch: ImportBatch
    actor: Actor
    importer: "Importer"
    seen: dict[Hashable, int] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    # New claims routed to each organisation, announced once when the batch is done.
    arrivals: Counter = field(default_factory=Counter)
    # Membership periods accepted so far, so two rows of a batch cannot overlap each other.
    periods: dict[tuple[int, int], list[tuple]] = field(default_factory=lambda: defaultdict(list))
    # The first new claim with each duplicate key (NHS number, practice, incident date) among
    # the batch's claims not stored yet, for later rows to point at.
    first_by_key: dict[tuple, int] = field(default_factory=dict)
    # While slices are read on a second connection (_Storer), which cannot see the batch's
    # stored but uncommitted claims: the ids of the new claims so read, 8 bytes each, for
    # their repeats of each other to be marked once the batch is stored (ClaimImporter.finish).
    read_apart: bool = False
    read_apart_claims: array = field(default_factory=lambda: array("q"))
    _organisations: dict[str, int] | None = None

    def organisations(self) -> dict[str, int]:
        if self._organisations is None:
            self._organisations = organisation_ids()
        return self._organisations

    _deadline_rules: tuple | None = None
    # The service levels as the batch read them (service_levels_fingerprint).
    levels_read: tuple | None = None

    def deadline_rules(self) -> tuple:
        """The deadline rules in force, read once a batch (service levels are few)."""
        if self._deadline_rules is None:
            self.levels_read = service_levels_fingerprint()
            self._deadline_rules = deadline_rules()
        return self._deadline_rules

    def clean(self, piece: list[tuple[int, Any]]) -> list[tuple[int, dict]]:
        """The records of a slice that pass their own checks and are not repeats of an
        earlier row's natural key; the others' errors are kept."""
        good = []
        for row, record in piece:
            cleaned, errors = spec.record_clean(self.batch.kind, row, record)
            if cleaned is not None:
                key = self.importer.key(cleaned)
                first = self.seen.setdefault(key, row)
                if first != row:
                    errors.add(
                        self.importer.key_field,
                        spec.DUPLICATE_IN_BATCH,
                        f"Row {first} already has this {self.importer.key_label}.",
                    )
                    cleaned = None
            if cleaned is None:
                self.errors.extend(errors.items)
            else:
                good.append((row, cleaned))
        return good


def _reject_body(batch: ImportBatch, error: BodyError) -> None:
    ImportBatch.objects.filter(pk=batch.pk).update(
        rows_total=0, errors=[{"field": None, "code": error.code, "message": str(error)}]
    )
    _finish(batch, ImportBatch.BatchStatus.REJECTED)


def _run(batch: ImportBatch, chunks: Callable[[], Iterator[bytes]], *, queued: bool) -> None:
    with paced_for_bulk():
        _run_batch(batch, chunks, queued=queued)


def _run_batch(batch: ImportBatch, chunks: Callable[[], Iterator[bytes]], *, queued: bool) -> None:
    run = _Run(batch=batch, actor=batch.created_by, importer=IMPORTERS[batch.kind])
    run_mode = _run_atomic if batch.mode == ImportBatch.Mode.ATOMIC else _run_partial
    if queued:
        run_mode(run, chunks, queued=True)
        batch.refresh_from_db()
        transaction.on_commit(lambda: import_finished_notify(batch=batch))
        _announce_arrivals(batch, run)
        _service_levels_changed_meanwhile(run)
        return
    try:
        run_mode(run, chunks, queued=False)
        _announce_arrivals(batch, run)
        _service_levels_changed_meanwhile(run)
    except DatabaseError as error:
        # In the request everything ran in one savepoint, now rolled back: nothing was applied.
        logger.warning("import %s failed: %s", batch.pk, error)
        _finish(batch, ImportBatch.BatchStatus.FAILED, _failure(0, batch.rows_total, error))


class _Rejected(Exception):
    """An atomic batch met a bad row: what it wrote is rolled back."""


def _run_atomic(run: _Run, chunks: Callable[[], Iterator[bytes]], *, queued: bool) -> None:
    """All rows or none, in one transaction (in a request, one savepoint). Rows are checked and
    written a slice at a time; after the first bad row nothing more is written but every row is
    still checked, so that all errors are reported, and then everything is rolled back. A rerun
    after a crash starts again from the first row: nothing of the crashed run was committed."""
    batch = run.batch
    progress = _Progress(batch.pk) if queued else None
    done = 0
    # A queued claims batch, in a transaction of its own, is stored on a thread of its own while
    # this one reads on a second connection (_Storer).
    threaded = (
        queued
        and settings.IMPORT_STORE_THREAD
        and run.importer.reads_apart
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )
    try:
        with (
            transaction.atomic(),
            constraints_checked_per_statement(),
            _Preparer() as preparer,
            _Storer(run, progress, threaded=threaded) as storer,
        ):
            # Slice k+1 is checked, read and handed to the preparer before slice k is stored,
            # so that its pure work runs while the database writes slice k (_ClaimsSlice).
            for piece in _slices(records(batch.content_type, chunks())):
                storer.before_reading()
                good = run.clean(piece)
                resolved = run.importer.resolve(good, run)
                plan = None
                if resolved and not run.errors:
                    if not storer.may_plan_apart(resolved):
                        storer.go_inline()
                    plan = run.importer.plan(resolved, run)
                done += len(piece)
                if plan is not None:
                    storer.push(preparer.submit(plan), done)
                else:
                    storer.checked(done)
            created, updated = storer.finish()
            if run.errors:
                raise _Rejected
            run.importer.finish(run)
            ImportBatch.objects.filter(pk=batch.pk).update(
                rows_done=done, created=created, updated=updated
            )
            _finish(batch, ImportBatch.BatchStatus.DONE)
    except _Rejected:
        ImportBatch.objects.filter(pk=batch.pk).update(
            rows_done=done, created=0, updated=0, errors=sorted(run.errors, key=_by_row)
        )
        _finish(batch, ImportBatch.BatchStatus.REJECTED)
    finally:
        if progress is not None:
            progress.close()


class _Storer:
    """Stores an atomic batch's prepared slices in order, counting what they created and
    updated, and reports progress.

    Inline (the default): on the batch's own thread, slice k once slice k+1 has been read and
    handed to the preparer (or before reading it, when the importer needs its writes read back:
    `reads_after_store`).

    Threaded (a queued claims batch with a transaction of its own): slice k is stored by a thread
    of its own on the batch's connection while the batch's thread checks and reads slice k+1 on a
    second connection, which sees what is committed; so reading, preparing and storing overlap.
    That is exact as long as the batch has changed no stored claim: its new claims' references are
    unique in the batch, and their repeats of each other that the second connection could not
    see are marked once every slice is stored (ClaimImporter.finish). A slice that changes
    stored claims turns the batch inline for good (`go_inline`): those changes are read back by
    the slices after it."""

    def __init__(self, run: _Run, progress: "_Progress | None", *, threaded: bool) -> None:
        self.run, self.progress, self.threaded = run, progress, threaded
        self.created = self.updated = 0
        self.pending: tuple[_Prepared, int] | None = None  # inline: the slice not yet stored
        self.stores: list[tuple[Future, int]] = []  # threaded: stores in flight, in order

    def __enter__(self) -> "_Storer":
        if self.threaded:
            self.run.read_apart = True
            self.batch_connection = connections[DEFAULT_DB_ALIAS]
            self.batch_connection.inc_thread_sharing()
            self.pool = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="import-store",
                initializer=_adopt_connection,
                initargs=(self.batch_connection,),
            )
            # This thread reads on a connection of its own until the batch goes inline.
            connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)
        return self

    def may_plan_apart(self, resolved: "list[Upsert]") -> bool:
        """Whether this slice may be read apart from the batch's connection: not if it changes
        stored rows."""
        return not self.threaded or all(item.existing is None for item in resolved)

    def before_reading(self) -> None:
        if self.pending is not None and self.pending[0].plan.reads_after_store:
            self._store_pending()

    def push(self, prepared: "_Prepared", done: int) -> None:
        if not self.threaded:
            if self.pending is not None:
                self._store_pending()
            self.pending = (prepared, done)
            return
        self.stores.append((self.pool.submit(self._store, prepared), done))
        # At most two slices wait to be stored: memory stays bounded if storing falls behind.
        while len(self.stores) > 2:
            self._collect_one()

    def checked(self, done: int) -> None:
        """Rows checked with nothing to write (a batch already rejected)."""
        if self.pending is None and not self.stores and self.progress is not None:
            self.progress.report(done)

    def go_inline(self) -> None:
        """From now on, store on the batch's own thread and read on its connection."""
        self._stop_thread()

    def finish(self) -> tuple[int, int]:
        self._stop_thread()
        if self.pending is not None:
            self._store_pending()
        return self.created, self.updated

    def __exit__(self, *exc_info) -> None:
        self._stop_thread(raising=False)

    # -- inline -------------------------------------------------------------------------------

    def _store_pending(self) -> None:
        prepared, done = self.pending
        self.pending = None
        self._count(self._store(prepared))
        if self.progress is not None:
            self.progress.report(done)

    # -- threaded -----------------------------------------------------------------------------

    def _store(self, prepared: "_Prepared") -> tuple[int, int]:
        if self.run.errors:  # a rejected batch writes nothing more
            prepared.future.result()  # but a fault in preparing it is still raised
            return 0, 0
        return prepared.store()

    def _count(self, counts: tuple[int, int]) -> None:
        self.created += counts[0]
        self.updated += counts[1]

    def _collect_one(self) -> None:
        future, done = self.stores.pop(0)
        self._count(future.result())
        if self.progress is not None:
            self.progress.report(done)

    def _stop_thread(self, *, raising: bool = True) -> None:
        """Wait for the stores in flight (cancelling those not started if something failed),
        then give this thread its batch connection back. Once: after it, the batch is inline."""
        if not self.threaded:
            return
        self.threaded = self.run.read_apart = False
        try:
            if raising:
                while self.stores:
                    self._collect_one()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.stores = []
            reads = connections[DEFAULT_DB_ALIAS]
            connections[DEFAULT_DB_ALIAS] = self.batch_connection
            self.batch_connection.dec_thread_sharing()
            reads.close()


def _adopt_connection(batch_connection) -> None:
    """The store thread works on the batch's connection, inside its transaction."""
    connections[DEFAULT_DB_ALIAS] = batch_connection


def _run_partial(run: _Run, chunks: Callable[[], Iterator[bytes]], *, queued: bool) -> None:
    """Good rows kept, bad rows reported. Queued, each slice commits with its progress, counts
    and errors, so a rerun after a crash resumes after the last committed slice; in a request,
    all slices share one savepoint."""
    batch = run.batch
    resume_after = ImportBatch.objects.values_list("rows_done", flat=True).get(pk=batch.pk)
    total = 0
    with contextlib.nullcontext() if queued else transaction.atomic():
        for piece in _slices(records(batch.content_type, chunks())):
            total += len(piece)
            if piece[-1][0] < resume_after:
                run.clean(piece)  # committed by an earlier run: only remember its keys
                continue
            with transaction.atomic(), constraints_checked_per_statement():
                before = len(run.errors)
                resolved = run.importer.resolve(run.clean(piece), run)
                created = updated = 0
                if resolved:
                    # Each slice commits before the next is read: nothing to overlap.
                    plan = run.importer.plan(resolved, run)
                    plan.prepare()
                    created, updated = plan.store()
                new_errors = sorted(run.errors[before:], key=_by_row)
                ImportBatch.objects.filter(pk=batch.pk).update(
                    rows_done=F("rows_done") + len(piece),
                    created=F("created") + created,
                    updated=F("updated") + updated,
                    **({"errors": _errors_so_far(batch.pk) + new_errors} if new_errors else {}),
                )
            if queued:
                logger.info("import %s: %s rows done", batch.pk, piece[-1][0] + 1)
        ImportBatch.objects.filter(pk=batch.pk).update(rows_done=total)
        _finish(batch, ImportBatch.BatchStatus.DONE)


class _Prepared:
    def __init__(self, plan: "SlicePlan", future: Future) -> None:
        self.plan, self.future = plan, future

    def store(self) -> tuple[int, int]:
        self.future.result()  # the preparer's error, if it met one, is raised here
        return self.plan.store()


def _refuse_queries(execute, sql, params, many, context):
    raise RuntimeError("An import slice's prepare() must not use the database: " + sql[:80])


def _without_database(work: Callable[[], None]) -> None:
    """Run on the preparer's thread, whose Django connection would be another session outside
    the batch's transaction: any query there is a bug, refused loudly."""
    try:
        with connection.execute_wrapper(_refuse_queries):
            work()
    finally:
        connection.close()


class _Preparer:
    """One thread that runs slices' prepare() (pure Python) while the batch's own thread waits
    on the database, which releases the interpreter lock: on two cores the Python of one slice
    and the database's work on the one before overlap instead of taking turns."""

    def __enter__(self) -> "_Preparer":
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-prepare")
        return self

    def submit(self, plan: "SlicePlan") -> _Prepared:
        return _Prepared(plan, self.pool.submit(_without_database, plan.prepare))

    def __exit__(self, *exc_info) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Progress:
    """Rows done of an atomic batch, for pollers to see while its transaction is still open:
    written over a connection of its own, which commits each update at once. (PostgreSQL only:
    SQLite, the demo's store, would wait on the batch's own write lock.)"""

    def __init__(self, batch_id: int) -> None:
        self.batch_id = batch_id
        self.connection = (
            connections.create_connection(DEFAULT_DB_ALIAS)
            if connection.vendor == "postgresql"
            else None
        )
        self.report(0)

    def report(self, done: int) -> None:
        if self.connection is None:
            return
        with self.connection.cursor() as cursor:
            cursor.execute(
                "UPDATE claims_importbatch SET rows_done = %s WHERE id = %s", [done, self.batch_id]
            )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _announce_arrivals(batch: ImportBatch, run: _Run) -> None:
    """Tell each organisation's team leads, once per batch, how many new claims it brought them
    (one notice per claim would bury them under a large import)."""
    if not run.arrivals:
        return
    batch.refresh_from_db(fields=["status"])
    if batch.status != ImportBatch.BatchStatus.DONE:
        return
    counts = dict(run.arrivals)

    def announce() -> None:
        from claims.notification_services import Message, notifications_create

        leads = Handler.objects.filter(
            role=Handler.Role.TEAM_LEAD, user__is_active=True, organisation__code__in=counts
        ).values_list("user_id", "organisation__code")
        with transaction.atomic():
            notifications_create(
                [
                    Message(
                        user_id,
                        None,
                        "claim_routed",
                        f"Import {batch.pk} routed {counts[code]:,} new claims to {code}.",
                        f"claim_routed:import:{batch.pk}:{user_id}",
                    )
                    for user_id, code in leads
                ]
            )

    transaction.on_commit(announce)


def _service_levels_changed_meanwhile(run: _Run) -> None:
    """A service level changed while the batch ran: the job that applied it saw none of the
    batch's claims (not committed yet), so it runs again once they are."""
    if run.levels_read is None or service_levels_fingerprint() == run.levels_read:
        return
    from claims.tasks import service_levels_apply_task

    reason = f"Service levels changed while import {run.batch.pk} ran"
    transaction.on_commit(lambda: service_levels_apply_task.delay(None, reason))


def _by_row(error: dict) -> int:
    """Errors in row order (a row's own checks come before the database's; keep that order)."""
    return error.get("row", -1)


def _errors_so_far(batch_id: int) -> list[dict]:
    return ImportBatch.objects.values_list("errors", flat=True).get(pk=batch_id) or []


def import_finished_notify(*, batch: ImportBatch) -> None:
    """Tell the person or system that sent a queued batch how it went (design.md §4 events);
    it names no claim, so nobody learns of a claim they may not see."""
    from claims.notification_services import Message, notifications_create

    if batch.created_by_id is None:
        return
    text = (
        f"Import {batch.pk} ({batch.kind}) {batch.status}: {batch.created:,} created, "
        f"{batch.updated:,} updated, {len(batch.errors):,} errors, "
        f"{batch.rows_done:,} of {batch.rows_total:,} rows."
    )
    with transaction.atomic():
        notifications_create(
            [
                Message(
                    batch.created_by_id,
                    None,
                    "import_finished",
                    text,
                    f"import_finished:{batch.pk}:{batch.created_by_id}",
                )
            ]
        )


# --- resolving references in bulk -------------------------------------------------------------


def _unknown(run: _Run, row: int, field_name: str, code: str, message: str) -> None:
    run.errors.append({"row": row, "field": field_name, "code": code, "message": message})


def _key_text(key: tuple[str, str]) -> str:
    return f"{key[0]}:{key[1]}"


def _no_member(run: _Run, row: int, field_name: str, key: tuple[str, str]) -> None:
    _unknown(
        run, row, field_name, spec.UNKNOWN_MEMBER, f"No member {_key_text(key)}: import them first."
    )


def _no_practice(run: _Run, row: int, code: str) -> None:
    _unknown(run, row, "practice", spec.UNKNOWN_PRACTICE, f"No practice {code}: import it first.")


# --- upserts --------------------------------------------------------------------------------


@dataclass
class Upsert:
    """One resolved row: the stored object it matches (or None: new) and the fields to set."""

    row: int
    existing: models.Model | None
    values: dict[str, Any]


def _upsert(
    model: type[models.Model], resolved: list[Upsert], run: _Run, *, action: str
) -> tuple[int, int]:
    """Create the new rows and change the given fields of the matched ones, auditing each.
    A row identical to what is stored is neither created nor updated."""
    new = [model(**item.values) for item in resolved if item.existing is None]
    changed, audits = [], []
    names: set[str] = set()
    for item in resolved:
        if item.existing is None:
            continue
        before = audit_snapshot(item.existing, item.values)
        for name, value in item.values.items():
            setattr(item.existing, name, value)
        after = audit_snapshot(item.existing, item.values)
        if before != after:
            changed.append(item.existing)
            names.update(name for name in item.values if before[name] != after[name])
            audits.append((item.existing, *audit_diff(before, after)))
    # Changes first: a batch closing a stored period makes room for the new one it adds, which
    # the exclusion constraint on periods checks as each statement ends.
    if changed:
        model.objects.bulk_update(changed, sorted(names), batch_size=SUB_BATCH)
    model.objects.bulk_create(new, batch_size=SUB_BATCH)
    label = f"import {run.batch.pk}"
    audit_record_many(
        actor=run.actor,
        actor_label=label,
        action=f"{action}.create",
        changes=[(obj, None, audit_snapshot(obj)) for obj in new],
        reason=f"Imported in batch {run.batch.pk}",
    )
    audit_record_many(
        actor=run.actor,
        actor_label=label,
        action=f"{action}.update",
        changes=audits,
        reason=f"Imported in batch {run.batch.pk}",
    )
    return len(new), len(changed)


class Importer:
    kind = ""
    key_field = ""
    key_label = ""
    # Whether a queued batch's slices may be read on a second connection while the previous
    # slice is stored (_Storer): only if what a slice reads never depends on the batch's own
    # earlier writes but through the batch's memory.
    reads_apart = False
    # The tables a batch fills, its records' own first, whose statistics a large one leaves
    # behind.
    writes: tuple[type[models.Model], ...] = ()

    def key(self, record: dict) -> Hashable:
        raise NotImplementedError

    def resolve(self, rows: list[tuple[int, dict]], run: _Run) -> list[Upsert]:
        raise NotImplementedError

    def apply(self, resolved: list[Upsert], run: _Run) -> tuple[int, int]:
        raise NotImplementedError

    def plan(self, resolved: list[Upsert], run: _Run) -> "SlicePlan":
        """The slice's writes (see _ClaimsSlice); by default all of them at store()."""
        return _Applied(self, resolved, run)

    def finish(self, run: _Run) -> None:
        """Once every slice of an accepted atomic batch is stored, in its transaction."""

    @staticmethod
    def creatable(run: _Run, row: int, record: dict, existing) -> bool:
        """A new record needs every required field; a stored one only the fields that change.
        Refuses (with an error) a new record that lacks some."""
        if existing is not None or not record.get(spec.MISSING):
            return True
        run.errors.extend(spec.missing_errors(row, record))
        return False


class SlicePlan(Protocol):
    """A slice's writes: reads done when it is built, prepare() pure (it may run on another
    thread), store() the writes; see _ClaimsSlice."""

    reads_after_store: bool

    def prepare(self) -> None: ...

    def store(self) -> tuple[int, int]: ...


class _Applied:
    """A slice of an importer with nothing to prepare apart: every write at store()."""

    reads_after_store = True

    def __init__(self, importer: Importer, resolved: list[Upsert], run: _Run) -> None:
        self.importer, self.resolved, self.run = importer, resolved, run

    def prepare(self) -> None:
        pass

    def store(self) -> tuple[int, int]:
        return self.importer.apply(self.resolved, self.run)


def _given(record: dict) -> dict:
    return {name: value for name, value in record.items() if name != spec.MISSING}


class PracticeImporter(Importer):
    kind, key_field, key_label = "practices", "ods_code", "ODS code"
    writes = (Practice,)

    def key(self, record):
        return record["ods_code"]

    def resolve(self, rows, run):
        existing = Practice.objects.in_bulk([r["ods_code"] for _, r in rows], field_name="ods_code")
        return [
            Upsert(row, existing.get(r["ods_code"]), _given(r))
            for row, r in rows
            if self.creatable(run, row, r, existing.get(r["ods_code"]))
        ]

    def apply(self, resolved, run):
        return _upsert(Practice, resolved, run, action="practice")


class MemberImporter(Importer):
    kind, key_field, key_label = "members", "registration_number", "registration body and number"
    writes = (Member,)

    def key(self, record):
        return (record["registration_body"], record["registration_number"])

    def resolve(self, rows, run):
        ids = member_ids_by_key(self.key(r) for _, r in rows)
        existing = Member.objects.in_bulk(ids.values())
        found = [(row, r, existing.get(ids.get(self.key(r), 0))) for row, r in rows]
        return [
            Upsert(row, member, _given(r))
            for row, r, member in found
            if self.creatable(run, row, r, member)
        ]

    def apply(self, resolved, run):
        return _upsert(Member, resolved, run, action="member")


def _reroute_members(resolved: list[Upsert], run: _Run) -> None:
    """Memberships and employments decide claims' routing (domain.md §4, effective MDO): re-route
    the open claims that read the members of this slice, once for all of them."""
    member_ids = {item.values["member_id"] for item in resolved}
    claims_of_members_reroute(
        member_ids=member_ids,
        actor=run.actor,
        cause=f"Memberships or employments imported in batch {run.batch.pk}",
        actor_label=f"import {run.batch.pk}",
    )


def _ends_after_start(
    run: _Run, row: int, start: datetime.date, end: datetime.date | None, what: str
) -> bool:
    """The end a row gives, or the stored one it keeps, must not come before the start."""
    if end is not None and end < start:
        _unknown(run, row, "end_date", spec.END_BEFORE_START, f"The {what} ends before it starts.")
        return False
    return True


def _period_values(record: dict, **ids: int) -> dict[str, Any]:
    """A membership's or employment's columns: its key, and its end date if the row gives one."""
    values: dict[str, Any] = {**ids, "start_date": record["start_date"]}
    if "end_date" in record:
        values["end_date"] = record["end_date"]
    return values


def _overlaps(
    start: datetime.date, end: datetime.date | None, periods: Iterable[tuple]
) -> tuple | None:
    for period in periods:
        other_start, other_end = period[0], period[1]
        if (end is None or other_start <= end) and (other_end is None or start <= other_end):
            return period
    return None


class MembershipImporter(Importer):
    kind, key_field, key_label = "memberships", "start_date", "member, organisation and start"
    writes = (Membership,)

    def key(self, record):
        return (record["member"], record["organisation"], record["start_date"])

    def resolve(self, rows, run):
        members = member_ids_by_key(r["member"] for _, r in rows)
        organisations = dict(DefenceOrganisation.objects.values_list("code", "pk"))
        stored = defaultdict(list)
        for membership in Membership.objects.filter(member_id__in=members.values()):
            stored[(membership.member_id, membership.organisation_id)].append(membership)
        # Periods this batch has accepted so far, so two rows cannot overlap each other.
        accepted = run.periods
        # The end each stored period will have once this slice is written (its rows may close
        # one after adding the next): a row is checked against stored periods as they will be.
        ends = {
            (m.member_id, m.organisation_id, m.start_date): m.end_date
            for periods in stored.values()
            for m in periods
        }
        for _, record in rows:
            key = (
                members.get(record["member"]),
                organisations.get(record["organisation"]),
                record["start_date"],
            )
            if key in ends and "end_date" in record:
                ends[key] = record["end_date"]
        resolved = []
        for row, record in rows:
            member_id = members.get(record["member"])
            organisation_id = organisations.get(record["organisation"])
            if member_id is None:
                _no_member(run, row, "member", record["member"])
            if organisation_id is None:
                _unknown(
                    run,
                    row,
                    "organisation",
                    spec.UNKNOWN_ORGANISATION,
                    f"No defence organisation {record['organisation']}; known: "
                    f"{', '.join(sorted(organisations))}.",
                )
            if member_id is None or organisation_id is None:
                continue
            same = [
                m
                for m in stored[(member_id, organisation_id)]
                if m.start_date == record["start_date"]
            ]
            existing = same[0] if same else None
            end = record.get("end_date", existing.end_date if existing else None)
            earlier = accepted[(member_id, organisation_id)]
            # A stored period that an earlier row of the batch rewrites is checked as that row.
            rewritten = {start for start, _, _ in earlier}
            others = [
                (m.start_date, ends[(member_id, organisation_id, m.start_date)], "stored")
                for m in stored[(member_id, organisation_id)]
                if m is not existing and m.start_date not in rewritten
            ] + earlier
            clash = _overlaps(record["start_date"], end, others)
            if clash is not None:
                where = "a stored membership" if clash[2] == "stored" else f"row {clash[2]}"
                _unknown(
                    run,
                    row,
                    "start_date",
                    spec.OVERLAPPING_MEMBERSHIP,
                    f"{_key_text(record['member'])} {record['organisation']} from "
                    f"{record['start_date']} to {end or 'open'} overlaps {where} "
                    f"({clash[0]} to {clash[1] or 'open'}).",
                )
                continue
            if not _ends_after_start(run, row, record["start_date"], end, "membership"):
                continue
            accepted[(member_id, organisation_id)].append((record["start_date"], end, row))
            values = _period_values(record, member_id=member_id, organisation_id=organisation_id)
            resolved.append(Upsert(row, existing, values))
        return resolved

    def apply(self, resolved, run):
        counts = _upsert(Membership, resolved, run, action="membership")
        _reroute_members(resolved, run)
        return counts


class EmploymentImporter(Importer):
    kind, key_field, key_label = "employments", "start_date", "member, practice and start"
    writes = (Employment,)

    def key(self, record):
        return (record["member"], record["practice"], record["start_date"])

    def resolve(self, rows, run):
        members = member_ids_by_key(
            key for _, r in rows for key in (r["member"], r.get("employer")) if key
        )
        practices = practice_ids_by_code(r["practice"] for _, r in rows)
        stored = {
            (e.member_id, e.practice_id, e.start_date): e
            for e in Employment.objects.filter(
                member_id__in=members.values(), practice_id__in=practices.values()
            )
        }
        resolved = []
        for row, record in rows:
            member_id = members.get(record["member"])
            practice_id = practices.get(record["practice"])
            employer_id = members.get(record["employer"]) if record.get("employer") else None
            if member_id is None:
                _no_member(run, row, "member", record["member"])
            if practice_id is None:
                _no_practice(run, row, record["practice"])
            if record.get("employer") and employer_id is None:
                _no_member(run, row, "employer", record["employer"])
            if (
                member_id is None
                or practice_id is None
                or (record.get("employer") and employer_id is None)
            ):
                continue
            existing = stored.get((member_id, practice_id, record["start_date"]))
            end = record.get("end_date", existing.end_date if existing else None)
            if not _ends_after_start(run, row, record["start_date"], end, "employment"):
                continue
            values = _period_values(record, member_id=member_id, practice_id=practice_id)
            if "employer" in record:
                values["employer_id"] = employer_id
            resolved.append(Upsert(row, existing, values))
        return resolved

    def apply(self, resolved, run):
        counts = _upsert(Employment, resolved, run, action="employment")
        _reroute_members(resolved, run)
        return counts


# --- claims -----------------------------------------------------------------------------------

_CLAIMANT_FIELDS = {
    "name": "claimant_name",
    "date_of_birth": "claimant_date_of_birth",
    "nhs_number": "claimant_nhs_number",
    "date_of_death": "claimant_date_of_death",
    "lacks_capacity": "claimant_lacks_capacity",
}


def _claim_values(record: dict, practice_id: int | None) -> dict[str, Any]:
    """A claim record's fields under the model's names, only those the record gives."""
    values: dict[str, Any] = {}
    for name, value in record.items():
        if name == "claimant":
            values.update({_CLAIMANT_FIELDS[k]: v for k, v in value.items()})
        elif name == "practice":
            values["practice_id"] = practice_id
        elif name not in ("clinicians", "reserves"):
            values[name] = value
    values = incident_as_one_fact(values)
    if record.get("status") == Status.OPEN:
        values["outcome"] = ""
    return values


_CLAIM_COLUMNS = [f.attname for f in Claim._meta.concrete_fields if f.name != "id"]


_CLAIM_DEFAULTS = {f.attname: f.get_default() for f in Claim._meta.concrete_fields}
# A new claim's row as COPY fields: the defaults formatted once, then a row's own values put in.
_CLAIM_DEFAULT_FIELDS = [copy_text(_CLAIM_DEFAULTS[column]) for column in _CLAIM_COLUMNS]
_CLAIM_COLUMN_INDEX = {column: index for index, column in enumerate(_CLAIM_COLUMNS)}
# What every new claim has of its own, whatever its record gives.
_CLAIM_OWN_COLUMNS = [
    _CLAIM_COLUMN_INDEX[column]
    for column in (
        "reference",
        "source_organisation_id",
        "possible_duplicate_of_id",
        "created_at",
        "updated_at",
        "schemes",
        "lead_handler",
        "handlers",
        "flags",
        "needs_triage",
    )
]


def _claim_line(row: dict, given: dict) -> str:
    """A new claim's COPY line (the id, then _CLAIM_COLUMNS): only the fields its record gave
    and those every claim has of its own are formatted, the rest are the defaults'."""
    fields = _CLAIM_DEFAULT_FIELDS.copy()
    for index in _CLAIM_OWN_COLUMNS:
        fields[index] = copy_text(row[_CLAIM_COLUMNS[index]])
    for column in given:
        index = _CLAIM_COLUMN_INDEX[column]
        fields[index] = copy_text(row[column])
    return f"{row['id']}\t" + "\t".join(fields) + "\n"


@dataclass
class ClaimUpsert(Upsert):
    clinicians: list[int] | None = None
    reserves: dict[str, Decimal] | None = None
    # The clinicians' roles by member id, for routing.
    roles: dict[int, str] = field(default_factory=dict)


def _reserves_store(rows: list[tuple[int, str, Decimal]], run: _Run) -> None:
    now = timezone.now()
    user_id = getattr(run.actor, "pk", None)
    copy_into(
        Reserve,
        ("claim_id", "head", "amount", "reason", "set_by_id", "set_by_label", "created_at"),
        (
            (
                claim_id,
                head,
                amount,
                f"Imported in batch {run.batch.pk}",
                user_id,
                f"import {run.batch.pk}",
                now,
            )
            for claim_id, head, amount in rows
        ),
    )


class _ClaimsSlice:
    """One slice of a claims batch, written in three steps so that the pure work of one slice
    (building rows, routing, deadlines, audit and history lines) can run on another thread while
    the database writes the slice before it:

    - built (the batch's thread): the changes to stored claims written; then what the new
      claims need read, in a few queries: references and ids, the clinicians' roles and cover,
      the agreements, earlier claims with the same duplicate key;
    - prepare() (any thread, no database): every row of every table as COPY lines;
    - store() (the batch's thread): the COPYs.

    The next slice is built before this one is stored, and never depends on it: its sender
    references are unique in the batch, and possible duplicates among the batch's new claims
    not stored yet are found through `run.first_by_key` (or, for slices read apart, marked by
    ClaimImporter.finish)."""

    reads_after_store = False

    def __init__(self, resolved: list[ClaimUpsert], run: _Run) -> None:
        from claims.services import claim_references_allocate

        self.run = run
        self.new_items = [item for item in resolved if item.existing is None]
        self.today = timezone.localdate()
        self.writes: _ClaimWrites | None = None
        # Changes to stored claims are written first, at once: the new claims' duplicate check
        # below, and the next slice's, must see those claims as changed.
        self.updated, self.rekeyed = _stored_claims_update(
            [item for item in resolved if item.existing is not None], run
        )
        if not self.new_items:
            return
        count = len(self.new_items)
        self.references = claim_references_allocate(count=count, detached=True)
        self.ids = ids_allocate(Claim, count)
        if run.read_apart:
            run.read_apart_claims.extend(self.ids)
        self.roles = {m: role for item in self.new_items for m, role in item.roles.items()}
        self.agreements = agreements_as_facts()
        self.book = cover_book_for(self.roles, agreements=self.agreements)
        self.organisations = run.organisations()
        self.deadline_rules = run.deadline_rules()
        keys = [claim_duplicate_key(item.values) for item in self.new_items]
        earliest = claims_earliest_by_duplicate_key(keys)
        # Claimed now, in row order, so that a later slice prepared before this one is stored
        # still points at this slice's claims.
        self.duplicate_of = []
        self.claimed: list[tuple] = []
        for claim_id, key in zip(self.ids, keys, strict=True):
            if key is None:
                self.duplicate_of.append(None)
                continue
            # Only an earlier claim: one recorded meanwhile by someone else may have a later id.
            earlier = [
                c for c in (earliest.get(key), run.first_by_key.get(key)) if c and c < claim_id
            ]
            self.duplicate_of.append(min(earlier) if earlier else None)
            if key not in run.first_by_key:
                run.first_by_key[key] = claim_id
                self.claimed.append(key)

    def prepare(self) -> None:
        if self.new_items:
            self.writes = _claim_writes(self)

    def store(self) -> tuple[int, int]:
        run, created = self.run, 0
        if self.writes is not None:
            created = _claim_writes_store(self.writes, run)
            # Stored: later slices find these claims in the database (or, read apart, are
            # marked by ClaimImporter.finish), so the batch's memory holds the keys of the few
            # slices in flight, not of every claim it has written.
            for key in self.claimed:
                run.first_by_key.pop(key, None)
        if self.rekeyed:
            # Now, not when the slice was built: the new claims of the slices before it, which
            # may share the keys it changed, are stored by now (slices are stored in order).
            claims_duplicates_recheck(
                claim_ids=self.rekeyed,
                actor=run.actor,
                reason=f"Imported in batch {run.batch.pk}",
                actor_label=f"import {run.batch.pk}",
            )
        return created, self.updated


def _stored_claims_update(items: list[ClaimUpsert], run: _Run) -> tuple[int, list[int]]:
    """Change stored claims as their records say, re-routing and recomputing deadlines where
    their facts or dates changed; returns how many changed, and those whose duplicate key
    changed (checked again once the slice is stored: _ClaimsSlice.store)."""
    if not items:
        return 0, []
    updated, reroute, recompute, rekeyed = ClaimImporter._update(items, run)
    label, cause = f"import {run.batch.pk}", f"Imported in batch {run.batch.pk}"
    if reroute:
        claims_route(claim_ids=reroute, actor=run.actor, actor_label=label, cause=cause)
    if recompute:
        claims_deadlines_recompute(
            claim_ids=recompute, actor=run.actor, actor_label=label, reason=cause, tell_missed=False
        )
    return updated, rekeyed


@dataclass
class _ClaimWrites:
    claims: list[str]
    clinicians: list[str]
    reserves: list[tuple[int, str, Decimal]]
    audits: list[str]
    decisions: DecisionWrites | None
    deadlines: NewDeadlines


def _repeats_among_marked(claim_ids: array) -> int:
    """Mark each of these new claims (read on a connection that could not see the others before
    they were committed) that repeats the duplicate key of an earlier one of them: it points at
    the earliest of them, unless it already points at a claim earlier still, as if each had
    been read after the one before. One statement, which writes only the repeats it corrects.
    Returns how many."""
    if not claim_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE claims_claim AS claim
               SET possible_duplicate_of_id = repeat.earliest
              FROM (SELECT id,
                           min(id) OVER (PARTITION BY claimant_nhs_number, practice_id,
                                         COALESCE(incident_date, incident_date_from)) AS earliest
                      FROM claims_claim
                     WHERE id = ANY(%s::bigint[]) AND id BETWEEN %s AND %s
                       AND claimant_nhs_number <> '' AND practice_id IS NOT NULL
                       AND COALESCE(incident_date, incident_date_from) IS NOT NULL) AS repeat
             WHERE claim.id = repeat.id
               AND repeat.earliest < repeat.id
               AND (claim.possible_duplicate_of_id IS NULL
                    OR claim.possible_duplicate_of_id > repeat.earliest)
            """,
            # The bounds let the planner walk the primary key over the batch's ids, where for
            # `= ANY` of 100,000 ids alone it read every claim (430 ms for 30,000 at 590,000).
            [array_literal(claim_ids), min(claim_ids), max(claim_ids)],
        )
        return cursor.rowcount


def _claim_writes(piece: _ClaimsSlice) -> _ClaimWrites:
    """Every row a slice's new claims write, as COPY lines: pure, so it may run on another
    thread."""
    run = piece.run
    label, cause = f"import {run.batch.pk}", f"Imported in batch {run.batch.pk}"
    now = timezone.now()
    rows = [
        {
            **_CLAIM_DEFAULTS,
            **item.values,
            "id": claim_id,
            "pk": claim_id,
            "reference": reference,
            "source_organisation_id": run.batch.organisation_id,
            "possible_duplicate_of_id": duplicate_of,
            "created_at": now,
            "updated_at": now,
        }
        for item, claim_id, reference, duplicate_of in zip(
            piece.new_items, piece.ids, piece.references, piece.duplicate_of, strict=True
        )
    ]
    # Decided before the claim is stored, so its row is written once, already placed.
    decided = claims_decide(
        [
            ClaimRow(
                *(row[column] for column in CLAIM_ROW_COLUMNS),
                clinicians=[(m, piece.roles[m]) for m in item.clinicians or ()],
            )
            for row, item in zip(rows, piece.new_items, strict=True)
        ],
        decision_date=piece.today,
        agreements=piece.agreements,
        book=piece.book,
    )
    for row, (_, ruling) in zip(rows, decided, strict=True):
        placement = ruling.placement
        row.update(
            schemes=placement.schemes,
            lead_handler=placement.lead_handler,
            handlers=placement.handlers,
            flags=placement.flags,
            needs_triage=ruling.triage,
        )
    return _ClaimWrites(
        claims=[
            _claim_line(row, item.values) for row, item in zip(rows, piece.new_items, strict=True)
        ],
        clinicians=[
            f"{row['id']}\t{member_id}\t{position}\n"
            for row, item in zip(rows, piece.new_items, strict=True)
            for position, member_id in enumerate(item.clinicians or ())
        ],
        reserves=[
            (row["id"], head, amount)
            for row, item in zip(rows, piece.new_items, strict=True)
            for head, amount in (item.reserves or {}).items()
        ],
        # What the sender gave (the rest are the model's defaults), and what it was given.
        audits=audit_lines(
            actor=run.actor,
            actor_label=label,
            action="claim.create",
            changes=[
                (
                    AuditSubject("claims.claim", row["id"], row["reference"]),
                    None,
                    {
                        **audit_snapshot_of_row(item.values, row),
                        "reference": row["reference"],
                        "source_organisation_id": row["source_organisation_id"],
                        "clinicians": item.clinicians or [],
                        "reserves": {h: str(a) for h, a in (item.reserves or {}).items()},
                    },
                )
                for row, item in zip(rows, piece.new_items, strict=True)
            ],
            reason=cause,
        ),
        decisions=new_claims_decision_writes(
            decided=decided,
            actor=run.actor,
            actor_label=label,
            cause=cause,
            decision_date=piece.today,
            organisations=piece.organisations,
        ),
        deadlines=new_claims_deadlines(
            new_claims=rows,
            actor=run.actor,
            actor_label=label,
            reason=cause,
            today=piece.today,
            in_force=piece.deadline_rules,
        ),
    )


def _claim_writes_store(writes: _ClaimWrites, run: _Run) -> int:
    copy_lines(Claim, ("id", *_CLAIM_COLUMNS), writes.claims)
    copy_lines(ClaimClinician, ("claim_id", "member_id", "position"), writes.clinicians)
    _reserves_store(writes.reserves, run)
    audit_lines_write(writes.audits)
    if writes.decisions is not None:
        outcome = decision_writes_store(writes.decisions, new_claims=True)
        for move in outcome.arrivals:
            run.arrivals.update(filter(None, move.after.handlers.split(",")))
    new_deadlines_store(writes.deadlines)
    return len(writes.claims)


class ClaimImporter(Importer):
    kind, key_field, key_label = "claims", "external_ref", "external_ref"
    reads_apart = True
    # What routing writes (the claims first), and a new claim's clinicians and deadlines.
    writes = (*ROUTING_WRITES, ClaimClinician, Deadline, DeadlineChange)

    def key(self, record):
        return record["external_ref"]

    def resolve(self, rows, run):
        practices = practice_ids_by_code(r["practice"] for _, r in rows if r.get("practice"))
        members = members_by_key(key for _, r in rows for key in r.get("clinicians", ()))
        existing = claims_by_sender_reference(
            organisation_id=run.batch.organisation_id,
            references=[r["external_ref"] for _, r in rows],
        )
        resolved = []
        for row, record in rows:
            problems = len(run.errors)
            practice_id = practices.get(record.get("practice"))
            if record.get("practice") and practice_id is None:
                _no_practice(run, row, record["practice"])
            clinician_ids, roles = [], {}
            for index, key in enumerate(record.get("clinicians", ())):
                if key not in members:
                    _no_member(run, row, f"clinicians[{index}]", key)
                    continue
                member_id, roles[member_id] = members[key]
                clinician_ids.append(member_id)
            claim = existing.get(record["external_ref"])
            if not self.creatable(run, row, record, claim):
                continue
            values = _claim_values(_given(record), practice_id)
            self._check_merged(run, row, claim, values)
            if len(run.errors) > problems:
                continue
            resolved.append(
                ClaimUpsert(
                    row,
                    claim,
                    values,
                    clinician_ids if "clinicians" in record else None,
                    record.get("reserves"),
                    roles,
                )
            )
        return resolved

    @staticmethod
    def _check_merged(run: _Run, row: int, claim: Claim | None, values: dict) -> None:
        """What a record leaves out stays as stored (or takes its default, for a new claim):
        check the claim it would make, not the row alone."""
        stored = _CLAIM_DEFAULTS if claim is None else claim.__dict__
        for path, code, message in claim_merged_problems(values, stored):
            _unknown(run, row, path, code, message)

    def plan(self, resolved, run):
        return _ClaimsSlice(resolved, run)

    def finish(self, run):
        _repeats_among_marked(run.read_apart_claims)

    @staticmethod
    def _update(items: list[ClaimUpsert], run: _Run) -> tuple[int, list[int], list[int], list[int]]:
        """Change the given fields of stored claims; returns (claims changed, those whose
        routing facts or clinicians changed, those whose deadline dates changed, those whose
        duplicate key changed)."""
        if not items:
            return 0, [], [], []
        ids = [item.existing.pk for item in items]
        stored_clinicians = defaultdict(list)
        for claim_id, member_id in (
            ClaimClinician.objects.filter(AnyOf(F("claim_id"), ids))
            .order_by("claim_id", "position", "pk")
            .values_list("claim_id", "member_id")
        ):
            stored_clinicians[claim_id].append(member_id)
        locked = Claim.objects.select_for_update().in_bulk(ids)
        stored_reserves = claims_current_reserves(ids)
        changed, audits, names = [], [], set()
        reroute, recompute, rekeyed, new_clinicians, new_reserves = [], [], [], [], []
        for item in items:
            claim = locked[item.existing.pk]
            key_before = claim_duplicate_key(claim.__dict__)
            before = audit_snapshot(claim, item.values)
            for name, value in item.values.items():
                setattr(claim, name, value)
            after = audit_snapshot(claim, item.values)
            before, after = audit_diff(before, after)
            if item.clinicians is not None and item.clinicians != stored_clinicians[claim.pk]:
                before["clinicians"] = stored_clinicians[claim.pk]
                after["clinicians"] = item.clinicians
                new_clinicians.append((claim.pk, item.clinicians))
            current = stored_reserves.get(claim.pk, {})
            revised = {
                head: amount
                for head, amount in (item.reserves or {}).items()
                if current.get(head) != amount
            }
            if revised:
                before["reserves"] = {h: str(current[h]) if h in current else None for h in revised}
                after["reserves"] = {h: str(a) for h, a in revised.items()}
                new_reserves += [(claim.pk, head, amount) for head, amount in revised.items()]
            if not after:
                continue
            claim.version += 1
            claim.updated_at = timezone.now()
            changed.append(claim)
            names.update(name for name in after if name not in ("clinicians", "reserves"))
            audits.append((claim, before, after))
            if set(after) & {*REROUTE_FIELDS, "clinicians"}:
                reroute.append(claim.pk)
            if set(after) & DEADLINE_INPUT_FIELDS:
                recompute.append(claim.pk)
            if claim_duplicate_key(claim.__dict__) != key_before:
                rekeyed.append(claim.pk)
        if names:
            Claim.objects.bulk_update(
                changed, sorted(names | {"version", "updated_at"}), batch_size=SUB_BATCH
            )
        elif changed:
            Claim.objects.bulk_update(changed, ["version", "updated_at"], batch_size=SUB_BATCH)
        if new_clinicians:
            ClaimClinician.objects.filter(
                AnyOf(F("claim_id"), [pk for pk, _ in new_clinicians])
            ).delete()
            copy_into(
                ClaimClinician,
                ("claim_id", "member_id", "position"),
                (
                    (claim_id, member_id, position)
                    for claim_id, members in new_clinicians
                    for position, member_id in enumerate(members)
                ),
            )
        _reserves_store(new_reserves, run)
        audit_record_many(
            actor=run.actor,
            actor_label=f"import {run.batch.pk}",
            action="claim.update",
            changes=audits,
            reason=f"Imported in batch {run.batch.pk}",
        )
        return len(changed), reroute, recompute, rekeyed


IMPORTERS: dict[str, Importer] = {
    importer.kind: importer
    for importer in (
        PracticeImporter(),
        MemberImporter(),
        MembershipImporter(),
        EmploymentImporter(),
        ClaimImporter(),
    )
}

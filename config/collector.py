"""The garbage collector's pace while bulk work runs.

CPython collects its youngest generation every 700 new containers (dicts, lists, tuples,
objects), and every tenth of those collections the next one, each walking every object still
alive in those generations: for an import that builds and drops hundreds of thousands of row
dicts, routing facts and COPY lines, a third of its Python time went to walking the batch's own
live objects again and again (make bench, import_claims_api: 2,496 against 3,013 claims/s with
collection off for 10,000 claims). Reference counting frees nearly everything as it goes; the
collector is only needed for cycles, which the bulk paths barely make, so collecting a little
less often costs little memory."""

import contextlib
import gc
import threading

BULK_THRESHOLDS = (10_000, 50, 1_000)

_lock = threading.Lock()
_users = 0
_default: tuple[int, int, int] | None = None


@contextlib.contextmanager
def collector_paced_for_bulk():
    """Raise the collector's thresholds for the duration (process-wide, so counted: the last of
    overlapping bulk jobs in one process puts the previous thresholds back)."""
    global _users, _default
    with _lock:
        if _users == 0:
            _default = gc.get_threshold()
            gc.set_threshold(*BULK_THRESHOLDS)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _default is not None:
                gc.set_threshold(*_default)

"""The interpreter's pace while bulk work runs: the garbage collector's and the threads'.

CPython collects its youngest generation every 700 new containers (dicts, lists, tuples,
objects), and every tenth of those collections the next one, each walking every object still
alive in those generations: for an import that builds and drops hundreds of thousands of row
dicts, routing facts and COPY lines, a third of its Python time went to walking the batch's own
live objects again and again (make bench, import_claims_api: 2,496 against 3,013 claims/s with
collection off for 10,000 claims). Reference counting frees nearly everything as it goes; the
collector is only needed for cycles, which the bulk paths barely make, so collecting a little
less often costs little memory.

An import also prepares one slice on a second thread while its own thread waits on the database
for the one before (claims.import_services._Preparer). When the database answers, the waiting
thread needs the interpreter lock back, and by default gets it only after the other has run for
5 ms: for the dozen statements of each slice that was a quarter of the overlap lost (3,290
against 3,100 claims/s with 0.5 ms, make bench)."""

import contextlib
import gc
import sys
import threading

BULK_THRESHOLDS = (10_000, 50, 1_000)
BULK_SWITCH_INTERVAL = 0.0005  # seconds

_lock = threading.Lock()
_users = 0
_default: tuple[tuple[int, int, int], float] | None = None


@contextlib.contextmanager
def paced_for_bulk():
    """Raise the collector's thresholds and shorten the threads' switch interval for the
    duration (process-wide, so counted: the last of overlapping bulk jobs in one process puts
    the previous values back)."""
    global _users, _default
    with _lock:
        if _users == 0:
            _default = (gc.get_threshold(), sys.getswitchinterval())
            gc.set_threshold(*BULK_THRESHOLDS)
            sys.setswitchinterval(BULK_SWITCH_INTERVAL)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _default is not None:
                gc.set_threshold(*_default[0])
                sys.setswitchinterval(_default[1])

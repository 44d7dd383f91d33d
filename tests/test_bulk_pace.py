"""The interpreter's pace for bulk work is changed only while bulk work runs."""

import gc
import sys
import threading

from config.bulk_pace import BULK_SWITCH_INTERVAL, BULK_THRESHOLDS, paced_for_bulk


def test_thresholds_are_raised_inside_and_restored_after_overlapping_jobs():
    def pace():
        return gc.get_threshold(), sys.getswitchinterval()

    before = pace()
    bulk = (BULK_THRESHOLDS, BULK_SWITCH_INTERVAL)
    first_inside = threading.Event()
    release_first = threading.Event()
    seen = {}

    def first_job():
        with paced_for_bulk():
            first_inside.set()
            release_first.wait(5)

    job = threading.Thread(target=first_job)
    job.start()
    first_inside.wait(5)
    with paced_for_bulk():
        seen["both"] = pace()
        release_first.set()
        job.join(5)
        seen["second alone"] = pace()
    seen["after"] = pace()
    assert seen == {"both": bulk, "second alone": bulk, "after": before}

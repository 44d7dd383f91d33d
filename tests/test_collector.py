"""The collector's pace for bulk work is raised only while bulk work runs."""

import gc
import threading

from config.collector import BULK_THRESHOLDS, collector_paced_for_bulk


def test_thresholds_are_raised_inside_and_restored_after_overlapping_jobs():
    before = gc.get_threshold()
    first_inside = threading.Event()
    release_first = threading.Event()
    seen = {}

    def first_job():
        with collector_paced_for_bulk():
            first_inside.set()
            release_first.wait(5)

    job = threading.Thread(target=first_job)
    job.start()
    first_inside.wait(5)
    with collector_paced_for_bulk():
        seen["both"] = gc.get_threshold()
        release_first.set()
        job.join(5)
        seen["second alone"] = gc.get_threshold()
    seen["after"] = gc.get_threshold()
    assert seen == {"both": BULK_THRESHOLDS, "second alone": BULK_THRESHOLDS, "after": before}

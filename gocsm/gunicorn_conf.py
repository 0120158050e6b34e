"""gunicorn settings for metrics across workers: `gunicorn -c python:gocsm.gunicorn_conf ...`.

PROMETHEUS_MULTIPROC_DIR must name an empty directory writable by every worker, set in the
environment before gunicorn starts (and emptied on each deploy). A dead worker's live gauges are
dropped here; its counters stay, so totals never go backwards.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

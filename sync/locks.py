"""Short distributed locks: Redis when configured (token-checked release), else in-process.

    with agency_lock("refresh", agency_id, timeout=30, wait=35):
        ...

Raises LockTimeout when the lock could not be taken within `wait` seconds.
"""

from __future__ import annotations

import contextlib
import threading
from contextlib import contextmanager

from django.conf import settings
from redis.exceptions import LockError


class LockTimeout(Exception):
    pass


_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


@contextmanager
def named_lock(name: str, *, timeout: float, wait: float):
    key = f"gocsm:lock:{name}"
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        lock = get_redis_connection("default").lock(key, timeout=timeout, blocking_timeout=wait)
        if not lock.acquire(blocking=True):
            raise LockTimeout(name)
        try:
            yield
        finally:
            # Expired while held: someone else may own it now, so leave it alone.
            with contextlib.suppress(LockError):
                lock.release()
        return
    with _local_guard:
        lock = _local_locks.setdefault(key, threading.Lock())
    if not lock.acquire(timeout=wait):
        raise LockTimeout(name)
    try:
        yield
    finally:
        lock.release()


def agency_lock(purpose: str, agency_id: int, *, timeout: float = 60, wait: float = 65):
    return named_lock(f"{purpose}:agency:{agency_id}", timeout=timeout, wait=wait)

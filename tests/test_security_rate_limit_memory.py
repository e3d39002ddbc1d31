"""memory:// rate limits (the default storage) count and expire as before, without a thread
started per request (webapp/security/limit_storage.py, MemoryStorageWithoutTimers)."""

from __future__ import annotations

import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from webapp.security.limit_storage import MemoryStorageWithoutTimers


def test_memory_uri_is_the_storage_without_timers_and_limits_alike():
    storage = storage_from_string("memory://")
    assert isinstance(storage, MemoryStorageWithoutTimers)
    limiter, limit = FixedWindowRateLimiter(storage), parse("5 per minute")
    first_timer = storage.timer  # the library's constructor starts one 10 ms timer
    first_timer.join()
    answers = [limiter.hit(limit, "203.0.113.9") for _ in range(7)]
    assert answers == [True] * 5 + [False, False]
    assert limiter.hit(limit, "192.0.2.5")  # another address has its own allowance
    # the library's class replaces a finished timer with a new thread on the next hit
    assert storage.timer is first_timer and not first_timer.is_alive()


def test_an_expired_window_starts_again_and_forgotten_keys_are_swept(monkeypatch):
    storage = MemoryStorageWithoutTimers("memory://")
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    limiter, limit = FixedWindowRateLimiter(storage), parse("2 per second")
    assert [limiter.hit(limit, "a"), limiter.hit(limit, "a"), limiter.hit(limit, "a")] == [True, True, False]
    limiter.hit(limit, "gone")
    now[0] += 2  # both windows are over
    assert limiter.hit(limit, "a")  # a fresh window: the old count is not carried over
    assert storage.get(limit.key_for("a")) == 1
    assert limit.key_for("gone") not in storage.storage  # swept without anyone asking for it

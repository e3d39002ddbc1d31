"""What a forger with write access to the database does after editing an event: hash the
chain again from the genesis so every link checks out. Verify must still catch it by replay."""

from __future__ import annotations

from webapp.engine import history
from webapp.models import HistoryEvent


def rechain(events: list[HistoryEvent]) -> str:
    """Recompute every event's prev_hash and hash in order; the new head hash."""
    prev = history.GENESIS
    for event in events:
        event.prev_hash = prev
        event.hash = history.chain_hash(prev, event)
        prev = event.hash
    return prev

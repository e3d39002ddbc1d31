"""Live workflows kept between commands, so a command on a recently used instance skips
deserializing its snapshot. An entry is used only when its version equals the instance
row's version column, and it enters the cache only after its transaction committed: the
database stays the truth; the cache only saves work.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import event
from sqlalchemy.orm import Session

_MAX_ENTRIES = 2000
_entries: OrderedDict[tuple[str, int], tuple[int, BpmnWorkflow]] = OrderedDict()
_lock = threading.Lock()
_PENDING = "workflow_cache_pending"


def take(scope: str, instance_id: int, version: int) -> BpmnWorkflow | None:
    """The cached workflow at exactly this version, removed from the cache (the caller
    is about to change it; it comes back only if that change commits). `scope` names the
    database, as one process may serve several."""
    with _lock:
        entry = _entries.pop((scope, instance_id), None)
    if entry is not None and entry[0] == version:
        return entry[1]
    return None


def stage(session: Session, scope: str, instance_id: int, version: int, workflow: BpmnWorkflow) -> None:
    session.info.setdefault(_PENDING, {})[(scope, instance_id)] = (version, workflow)


def clear() -> None:
    with _lock:
        _entries.clear()


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    with _lock:
        for key, entry in pending.items():
            _entries[key] = entry
            _entries.move_to_end(key)
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)

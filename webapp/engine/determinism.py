"""Make SpiffWorkflow deterministic: task ids and every clock reading come from us.

SpiffWorkflow 3.2 calls uuid4(), time.time() and datetime.now() at module level with no
hook. We replace those three names once, with functions that read a context variable set
for the duration of one command. Outside a command they behave as the originals, so plain
SpiffWorkflow use (the in-memory benchmark) is unaffected.
"""

from __future__ import annotations

import contextvars
import hashlib
import time as _time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module
import SpiffWorkflow.task as _task_module


@dataclass
class EngineMoment:
    now: datetime
    id_namespace: uuid.UUID
    id_counter: int

    def __post_init__(self) -> None:
        self.stamp = self.now.timestamp()  # SpiffWorkflow reads the clock on every state change
        self._hashed = _namespace_hash(self.id_namespace)

    def next_id(self) -> uuid.UUID:
        """uuid.uuid5(id_namespace, str(id_counter)), the same UUID, made without uuid5's
        per-call import, byte concatenation and UUID.__init__'s checks: the SHA-1 of the
        namespace's bytes is taken once per moment and copied (every new task of a case
        draws one; tests/test_determinism.py compares the two)."""
        self.id_counter += 1
        digest = self._hashed.copy()
        digest.update(str(self.id_counter).encode())
        made = _new_uuid(uuid.UUID)
        _set_field(made, "int", (int.from_bytes(digest.digest()[:16], "big") & _VERSION_MASK) | _VERSION_5)
        _set_field(made, "is_safe", _SAFE_UNKNOWN)
        return made

    def later(self, now: datetime) -> EngineMoment:
        """The same instance's next moment at `now`, drawing ids where this one stopped:
        what EngineMoment(now, self.id_namespace, self.id_counter) makes, without hashing
        the namespace again (replay and verify make one moment per event)."""
        moment = _new_uuid(EngineMoment)
        moment.now, moment.id_namespace, moment.id_counter = now, self.id_namespace, self.id_counter
        moment.stamp, moment._hashed = now.timestamp(), self._hashed
        return moment


# What UUID(bytes=..., version=5) does to the number: the variant (RFC 4122) and version bits.
_VERSION_MASK = ~(0xC000 << 48) & ~(0xF000 << 64)
_VERSION_5 = (0x8000 << 48) | (5 << 76)
_SAFE_UNKNOWN = uuid.SafeUUID.unknown
_new_uuid, _set_field = object.__new__, object.__setattr__  # UUID is immutable: its own __init__ sets so


def _namespace_hash(namespace: uuid.UUID):
    return hashlib.sha1(namespace.bytes)  # noqa: S324 - uuid5's hash, not a security use


_moment: contextvars.ContextVar[EngineMoment | None] = contextvars.ContextVar(
    "engine_moment", default=None
)
# The moment of the command running now, None outside one (a bound method: called on
# every SpiffWorkflow state change by serialization's hook).
current_moment = _moment.get


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        moment = _moment.get()
        if moment is None:
            return datetime.now(tz)
        return moment.now.astimezone(tz or UTC)


class _ClockedTime:
    """Stands in for the time module inside SpiffWorkflow.task."""

    def __getattr__(self, name):
        return getattr(_time, name)

    @staticmethod
    def time() -> float:
        moment = _moment.get()
        return moment.stamp if moment else _time.time()


def _task_uuid4() -> uuid.UUID:
    moment = _moment.get()
    return moment.next_id() if moment else uuid.uuid4()


def install() -> None:
    _timer_module.datetime = _ClockedDatetime
    _task_module.time = _ClockedTime()
    _task_module.uuid4 = _task_uuid4


install()

INSTANCE_NAMESPACE = uuid.UUID("6f1c1d2e-58a4-4d5e-9a43-7f0b2d6c9e10")


_NAMESPACES: dict[int, uuid.UUID] = {}


def instance_namespace(instance_id: int) -> uuid.UUID:
    """The namespace of the instance's task ids (kept: every command of a case asks)."""
    namespace = _NAMESPACES.get(instance_id)
    if namespace is None:
        if len(_NAMESPACES) >= 10_000:
            _NAMESPACES.clear()
        namespace = _NAMESPACES[instance_id] = uuid.uuid5(INSTANCE_NAMESPACE, f"instance:{instance_id}")
    return namespace


@contextmanager
def engine_moment(now: datetime, instance_id: int, id_counter: int) -> Iterator[EngineMoment]:
    """Everything SpiffWorkflow does inside sees `now` and draws ids from the instance's sequence."""
    moment = EngineMoment(now, instance_namespace(instance_id), id_counter)
    token = _moment.set(moment)
    try:
        yield moment
    finally:
        _moment.reset(token)

"""Make SpiffWorkflow deterministic: task ids and every clock reading come from us.

SpiffWorkflow 3.2 calls uuid4(), time.time() and datetime.now() at module level with no
hook. We replace those three names once, with functions that read a context variable set
for the duration of one command. Outside a command they behave as the originals, so plain
SpiffWorkflow use (the in-memory benchmark) is unaffected.
"""

from __future__ import annotations

import contextvars
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

    def next_id(self) -> uuid.UUID:
        self.id_counter += 1
        return uuid.uuid5(self.id_namespace, str(self.id_counter))


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


def instance_namespace(instance_id: int) -> uuid.UUID:
    return uuid.uuid5(INSTANCE_NAMESPACE, f"instance:{instance_id}")


@contextmanager
def engine_moment(now: datetime, instance_id: int, id_counter: int) -> Iterator[EngineMoment]:
    """Everything SpiffWorkflow does inside sees `now` and draws ids from the instance's sequence."""
    moment = EngineMoment(now, instance_namespace(instance_id), id_counter)
    token = _moment.set(moment)
    try:
        yield moment
    finally:
        _moment.reset(token)

"""Task ids in a command are uuid5(instance namespace, counter), made by a shortcut
(engine/determinism.py): the same UUIDs as uuid.uuid5, in every field a UUID has."""

from __future__ import annotations

import pickle
import uuid
from datetime import UTC, datetime

from webapp.engine.determinism import INSTANCE_NAMESPACE, engine_moment, instance_namespace

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_task_ids_are_uuid5_of_the_instance_and_counter():
    for instance_id in (1, 7, 123_456):
        namespace = uuid.uuid5(INSTANCE_NAMESPACE, f"instance:{instance_id}")
        assert instance_namespace(instance_id) == namespace
        with engine_moment(NOW, instance_id, 95) as moment:
            made = [moment.next_id() for _ in range(3000)]
        assert moment.id_counter == 3095
        for counter, task_id in enumerate(made, start=96):
            expected = uuid.uuid5(namespace, str(counter))
            assert type(task_id) is uuid.UUID
            assert (task_id.int, task_id.is_safe, task_id.version, task_id.variant) == (
                expected.int, expected.is_safe, expected.version, expected.variant)
            assert str(task_id) == str(expected) and hash(task_id) == hash(expected)
            assert pickle.dumps(task_id) == pickle.dumps(expected)


def test_ids_differ_between_instances():
    with engine_moment(NOW, 1, 0) as one:
        first = one.next_id()
    with engine_moment(NOW, 2, 0) as two:
        second = two.next_id()
    assert first != second

"""Request and response bodies of the API (marshmallow)."""

from __future__ import annotations

import json

from marshmallow import Schema, fields, validate

from ..engine.clock import to_iso


class UtcDateTime(fields.Field):
    def _serialize(self, value, attr, obj, **kwargs):
        return to_iso(value) if value is not None else None


class StartInstanceIn(Schema):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    data = fields.Dict(load_default=dict)
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))
    # An older version of the key (default: the latest).
    version = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))


class CompleteTaskIn(Schema):
    data = fields.Dict(required=True)


class AssignTaskIn(Schema):
    username = fields.String(required=True)


class MessageIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    correlation = fields.Dict(load_default=dict)
    payload = fields.Dict(load_default=dict)


class SkipJobIn(Schema):
    result = fields.Raw(required=True, allow_none=True)


class CancelIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DefinitionVersionOut(Schema):
    id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    content_hash = fields.String()
    deployed_at = UtcDateTime()
    deployed_by = fields.String()


class TaskOut(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    business_key = fields.Function(lambda t: t.instance.business_key)
    process_key = fields.Function(lambda t: t.instance.process_key)
    bpmn_id = fields.String()
    name = fields.String()
    lane = fields.String(attribute="role")
    lane_name = fields.String()
    state = fields.String()
    assignee = fields.String(allow_none=True)
    created_at = UtcDateTime()
    due_at = UtcDateTime()
    form = fields.Method("_form")
    # SpiffArena's taskMetadataValues, evaluated when the task became ready
    metadata = fields.Function(lambda t: t.task_metadata or {})
    # what the form opens with: the task's data for the form's fields
    data = fields.Function(lambda t: t.prefill or {})

    def _form(self, task):
        forms = task.instance.definition.forms
        return {
            "schema": forms.get(task.form_schema) if task.form_schema else None,
            "ui_schema": forms.get(task.form_ui_schema) if task.form_ui_schema else None,
        }


class InstanceOut(Schema):
    id = fields.Integer()
    status = fields.String()
    business_key = fields.String()
    process_key = fields.String()
    definition = fields.Function(lambda i: {"key": i.definition.key, "version": i.definition.version})
    definition_version = fields.Function(lambda i: i.definition.version)
    data = fields.Dict()
    version = fields.Integer()
    started_at = UtcDateTime()
    started_by = fields.String()
    ended_at = UtcDateTime()
    next_timer_due = UtcDateTime()
    tasks = fields.Method("_tasks")
    incidents = fields.Method("_incidents")

    def _incidents(self, instance):
        from ..extensions import db
        from ..models import Job

        if not instance.incident_count:
            return []
        jobs = db.session.scalars(db.select(Job).where(Job.instance_id == instance.id, Job.status == "incident")).all()
        return JobOut(many=True).dump(jobs)

    def _tasks(self, instance):
        return TaskOut(many=True).dump(self.context_tasks(instance))

    @staticmethod
    def context_tasks(instance):
        from ..extensions import db
        from ..models import InboxTask

        return db.session.scalars(
            db.select(InboxTask)
            .where(InboxTask.instance_id == instance.id, InboxTask.state == "open")
            .order_by(InboxTask.created_at)
        ).all()


class InstanceSummaryOut(Schema):
    id = fields.Integer()
    status = fields.String()
    business_key = fields.String()
    process_key = fields.String()
    definition_version = fields.Function(lambda i: i.definition.version)
    started_at = UtcDateTime()
    ended_at = UtcDateTime()


class HistoryEventOut(Schema):
    seq = fields.Integer()
    at = fields.String()
    actor = fields.String()
    type = fields.String()
    bpmn_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    payload = fields.Function(lambda e: json.loads(e.payload))
    state_hash = fields.String()
    prev_hash = fields.String()
    hash = fields.String()


class JobOut(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    task_id = fields.String()
    bpmn_id = fields.String()
    operator = fields.String()
    parameters = fields.Dict()
    status = fields.String()
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    run_at = UtcDateTime()
    last_error = fields.String(allow_none=True)

"""Request and response bodies of the API (marshmallow)."""

from __future__ import annotations

import json
from functools import cache

from marshmallow import Schema, fields, validate

from ..engine.clock import to_iso
from .error_codes import CODES as ERROR_CODES


@cache
def schema(cls: type[Schema], many: bool = False) -> Schema:
    """One instance per schema class (and `many`) for the whole process. Building a marshmallow
    schema copies its declared fields, about a third of a millisecond a request; an instance
    keeps no state between load/dump calls (marshmallow 4 has no per-instance context)."""
    return cls(many=many)

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
    # the case's version: its ETag is "v<instance_version>" (If-Match on complete/claim/...)
    instance_version = fields.Function(lambda t: t.instance.version)
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
        from ..engine import definitions

        # a deployed version never changes: its forms come from the per-process cache the
        # engine validates with, not from loading the definition row for every task
        forms = definitions.info(task.instance.definition_id).forms
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
        return schema(JobOut, many=True).dump(jobs)

    def _tasks(self, instance):
        return schema(TaskOut, many=True).dump(self.context_tasks(instance))

    @staticmethod
    def context_tasks(instance):
        from ..extensions import db
        from ..models import InboxTask
        from ..models.engine import IS_OPEN

        return db.session.scalars(
            db.select(InboxTask)
            .where(InboxTask.instance_id == instance.id, IS_OPEN)
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


# Answers the views build as plain dicts: described here for the OpenAPI document
# (webapp/api/openapi.py), so each shape is written once, as a schema.


class ErrorOut(Schema):
    error = fields.String(required=True, metadata={"description": "what went wrong"})
    errors = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "field name -> reason; empty when no field is to blame"})
    code = fields.String(required=True, validate=validate.OneOf(ERROR_CODES), metadata={
        "description": "stable machine code (the wording of `error` may change, this does not): "
                       + ", ".join(f"`{c}`" for c in ERROR_CODES)})


class DeployOut(Schema):
    key = fields.String()
    version = fields.Integer()
    content_hash = fields.String()


class DefinitionOut(Schema):
    key = fields.String()
    name = fields.String()
    latest_version = fields.Integer()
    versions = fields.List(fields.Nested(DefinitionVersionOut))


class StartedOut(Schema):
    id = fields.Integer()
    status = fields.String()
    business_key = fields.String(allow_none=True)


class CancelledOut(Schema):
    id = fields.Integer()
    status = fields.String()


class CompletedOut(Schema):
    id = fields.String(metadata={"description": "the task's id"})
    instance_id = fields.Integer()
    instance_status = fields.String()


class MessageOut(Schema):
    delivered_to = fields.List(fields.Integer(), metadata={"description": "ids of the instances that received it"})
    buffered = fields.Boolean(metadata={"description": "no instance waited: kept until one does"})


class SkipOut(Schema):
    job = fields.Nested(JobOut)
    instance_status = fields.String()


class VerifyOut(Schema):
    verified = fields.Boolean(required=True)
    events = fields.Integer(metadata={"description": "events checked (when verified)"})
    first_bad_seq = fields.Integer(metadata={"description": "the first event that fails (when not verified)"})
    reason = fields.String()


class ReplayTaskOut(Schema):
    id = fields.String()
    bpmn_id = fields.String()
    name = fields.String(allow_none=True)
    state = fields.String()


class ReplayOut(Schema):
    upto = fields.Integer(allow_none=True)
    completed = fields.Boolean()
    data = fields.Dict()
    tasks = fields.List(fields.Nested(ReplayTaskOut))
    completed_elements = fields.List(fields.String())
    active_elements = fields.List(fields.String())
    state_hash = fields.String()


class KpiFigureOut(Schema):
    code = fields.String()
    value = fields.Float(allow_none=True)
    numerator = fields.Integer(allow_none=True)
    denominator = fields.Integer(allow_none=True)
    pending = fields.Integer(allow_none=True)
    target = fields.Float(allow_none=True)
    comparison = fields.String()
    met_target = fields.Boolean(allow_none=True)
    by_team = fields.Boolean()


class KpiPeriodOut(Schema):
    from_ = fields.String(data_key="from", metadata={"format": "date"})
    to = fields.String(metadata={"format": "date"})
    team = fields.String(allow_none=True)
    time_zone = fields.String()
    as_of = fields.String(metadata={"format": "date-time"})


class KpisOut(Schema):
    period = fields.Nested(KpiPeriodOut)
    on_time_service_rate = fields.Nested(KpiFigureOut)
    satisfaction_rate = fields.Nested(KpiFigureOut)
    complaint_rate = fields.Nested(KpiFigureOut)
    resolution_rate = fields.Nested(KpiFigureOut)
    reply_24h_rate = fields.Nested(KpiFigureOut)
    resolve_48h_rate = fields.Nested(KpiFigureOut)
    parts_on_time_rate = fields.Nested(KpiFigureOut)


# Query parameters of the lists (documentation: the views read request.args themselves).


def _limit(description: str, maximum: int):
    return fields.Integer(metadata={"description": f"{description}; above {maximum} is {maximum}", "minimum": 1})


def _offset():
    return fields.Integer(metadata={"description": "rows to skip (default 0)", "minimum": 0, "maximum": 2**31 - 1})


class InstanceQuery(Schema):
    status = fields.String(metadata={"description": "exact match: running, completed, cancelled"})
    process_key = fields.String(metadata={"description": "exact match"})
    business_key = fields.String(metadata={"description": "exact match"})
    limit = _limit("page size, default 100", 1000)
    offset = _offset()


class PageQuery(Schema):
    limit = _limit("page size; without it every row", 1000)
    offset = _offset()


class HistoryQuery(Schema):
    limit = _limit("page size; without it every event", 10000)
    offset = _offset()


class TaskQuery(Schema):
    instance_id = fields.Integer()
    mine = fields.Boolean(metadata={"description": "only tasks assigned to the caller"})
    limit = _limit("page size; without it every task", 5000)
    offset = _offset()


class ReplayQuery(Schema):
    upto = fields.Integer(metadata={"description": "the last event's seq to apply; default all", "minimum": 0})


class JobQuery(Schema):
    status = fields.String(metadata={"description": "exact match: ready, done, incident, cancelled"})
    instance_id = fields.Integer()
    limit = _limit("page size, default 1000", 1000)
    offset = _offset()


class KpiQuery(Schema):
    from_ = fields.String(data_key="from", metadata={"format": "date", "description": "first day (China time)"})
    to = fields.String(metadata={"format": "date", "description": "last day, inclusive"})
    team = fields.String()


class AttachmentOut(Schema):
    id = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    name = fields.String()
    reference = fields.Dict(metadata={"description": "put into a task's or start's data, in an x-attachment field"})


class CustomerFileQuery(Schema):
    plate = fields.String()
    vin = fields.String()
    phone = fields.String()


class CustomerFileOut(Schema):
    customer = fields.Dict()
    vehicles = fields.List(fields.Dict())
    repairs = fields.List(fields.Dict())
    claims = fields.List(fields.Dict())
    complaints = fields.List(fields.Dict())
    followups = fields.List(fields.Dict())
    contacts = fields.List(fields.Dict())

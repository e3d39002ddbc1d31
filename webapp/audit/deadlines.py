"""The deadlines of the regulations, per procedure, and whether each case met them.

One entry per deadline. Two kinds:

* `within` + `end`: counted from the case's start (its first history event) to the first
  completion of the element `end` (the complaint's 24 h reply and 48 h resolution).
* `timer`: a timer on the diagram whose due time is the deadline, as SpiffWorkflow computed
  it when the replay armed it. A boundary timer guards the task it is attached to: the
  deadline is met when that task completes by the due time (each run of the task counts).
  An intermediate timer (a watch on a parallel path) needs `end`: the element that must be
  completed by the due time.

A diagram's boundary timers that no entry names are listed too, with the timer's name from
the diagram, so a new procedure shows its deadlines before anyone writes an entry.

Every fact comes from replaying the case's history events (walk.py); the status is judged at
a moment (now, or the time of a replay step).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from ..engine import clock, definitions, history
from .walk import Run, Step, Walk, fingerprint
from .walk import walk as replay_walk


@dataclass(frozen=True)
class Deadline:
    process: str
    code: str
    label: object  # a lazy translated string, or the diagram's own name (data)
    role: str | None = None  # responsible role; default: the lane of the guarded task
    end: str | None = None
    within: timedelta | None = None
    timer: str | None = None
    from_diagram: bool = False  # found on the diagram, not in the registry below
    covers: tuple[str, ...] = ()  # diagram timers this entry stands for (not listed again)


REGISTRY: list[Deadline] = [
    # 客户投诉处理: reply within 24 h and resolve within 48 h of receipt
    Deadline("complaint_handling", "reply_24h", _l("Reply to the customer within 24 hours"), role="complaint_handler",
             end="verify_complaint", within=timedelta(hours=24), covers=("reply_24h",)),
    Deadline("complaint_handling", "resolve_48h", _l("Resolve the complaint within 48 hours"), role="complaint_handler",
             end="close_case", within=timedelta(hours=48), covers=("wait_48h",)),
    # 维修服务: answer within 12 h (> 100 km or a supplier involved), on site within 24 h (<= 100 km),
    # an approved extension, bench repairs ceil(n/10) days
    Deadline("repair_dispatch", "answer_12h", _l("Answer the customer within 12 hours"), timer="t_answer"),
    Deadline("repair_dispatch", "on_site", _l("Arrive on site by the on-site deadline"), timer="t_onsite"),
    Deadline("repair_dispatch", "extension", _l("Finish within the approved extension"), timer="t_extension"),
    Deadline("repair_dispatch", "bench", _l("Repair returned units in time (10 units a day)"), timer="t_bench"),
    # issue 14: the workshop's promised finish time (a watch on its own path: the final inspection by then)
    Deadline("repair_dispatch", "promised_finish", _l("Finish the repair by the time promised"), role="workshop_supervisor",
             timer="wait_promise", end="final_check"),
    # issue 14: parts for a repair waiting for them (待料) delivered by the date the parts department promised
    Deadline("repair_dispatch", "parts_delivery", _l("Deliver the awaited parts by the date promised"), role="parts_keeper",
             timer="t_parts"),
    # 客服热线: an enquiry answered, a repair arranged, a return registered within 24 h
    Deadline("hotline_call", "answer_24h", _l("Answer the enquiry within 24 hours"), timer="t24_answer_enquiry"),
    Deadline("hotline_call", "repair_24h", _l("Arrange the repair within 24 hours"), timer="t24_arrange_repair"),
    Deadline("hotline_call", "return_24h", _l("Register the return request within 24 hours"), timer="t24_arrange_return"),
    # 保修索赔: submit by the manufacturer's deadline; payment by its due date
    Deadline("warranty_claim", "submission", _l("Submit the claim by the manufacturer's deadline"), timer="t_submission"),
    Deadline("warranty_claim", "payment", _l("Payment received by its due date"), timer="t_payment"),
    # 索赔件回运: shipped back by the deadline
    Deadline("parts_return", "shipment", _l("Ship the claimed parts back by the deadline"), role="warranty_clerk",
             timer="wait_deadline", end="ship_parts"),
    # 跟踪回访: customer file within 2 days, the call in its window, an open request reported within 2 days
    Deadline("customer_followup", "file_2d", _l("Customer file within 2 days"), timer="file_2d"),
    Deadline("customer_followup", "call", _l("Follow-up call by its deadline"), timer="call_overdue"),
    Deadline("customer_followup", "request_2d", _l("Open request reported within 2 days"), timer="request_2d"),
    # 满意度调查 / 纠正预防: corrective action and rework by their deadlines
    Deadline("satisfaction_survey", "capa", _l("Corrective action by its deadline"), timer="capa_overdue"),
    Deadline("satisfaction_survey", "rework", _l("Rework of a corrective action by its deadline"), timer="rework_overdue"),
    # 每周维修质量反馈: compiled on the Monday after the week; the manager's part within a day of it
    # (8 days from the start, ours: the regulation says only "every week")
    Deadline("repair_quality_report", "weekly", _l("Weekly repair-quality report sent to the general manager"),
             role="after_sales_manager", end="record_notes", within=timedelta(days=8), covers=("wait_week_end",)),
    # 安全检查: monthly inspection by the month's end, every rectification by its deadline
    Deadline("safety_inspection", "monthly", _l("Monthly inspection by the end of the month"), timer="inspection_overdue"),
    Deadline("safety_inspection", "rectification", _l("Each rectification by its deadline"), timer="rectify_overdue"),
]

# Outcomes. "overdue": not done and past due (counts as missed); "open": not due yet;
# "void": the case ended (cancelled, terminated) before the deadline without doing it;
# "n/a": the case never came to it (another path).
MET, MISSED, OVERDUE, OPEN, VOID, NA = "met", "missed", "overdue", "open", "void", "n/a"


@dataclass
class Outcome:
    deadline: Deadline
    status: str
    role: str | None
    due: datetime | None = None
    done_at: datetime | None = None
    runs: int = 0  # how many times the deadline applied (a task that ran twice: 2)
    missed_runs: int = 0

    @property
    def label(self):
        return self.deadline.label

    @property
    def code(self) -> str:
        return self.deadline.code


def deadlines_for(definition_id: int) -> list[Deadline]:
    """The registry's entries for the version's process, plus its unnamed boundary timers."""
    info = definitions.info(definition_id)
    meta = info.meta or {}
    entries = [d for d in REGISTRY if d.process == info.key]
    named = {d.timer for d in entries if d.timer} | {t for d in entries for t in d.covers}
    spec, _subs = definitions.spec_for(info)
    specs = dict(spec.task_specs)
    for sub in _subs.values():
        specs.update(sub.task_specs)
    elements = meta.get("elements") or {}
    for boundary_id in sorted(meta.get("boundaries") or {}):
        if boundary_id in named:
            continue
        task_spec = specs.get(boundary_id)
        if task_spec is None or not isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition):
            continue
        name = (elements.get(boundary_id) or {}).get("name") or boundary_id
        entries.append(Deadline(info.key, boundary_id, name, timer=boundary_id, from_diagram=True))
    return entries


def _role(deadline: Deadline, meta: dict) -> str | None:
    if deadline.role:
        return deadline.role
    guarded = deadline.end or (meta.get("boundaries") or {}).get(deadline.timer or "")
    return ((meta.get("tasks") or {}).get(guarded or "") or {}).get("role")


def _at(text: str | None) -> datetime | None:
    return clock.from_iso(text) if text else None


def _completed_by(runs: list[Run], upto_seq: int) -> Run | None:
    done = [r for r in runs if r.end_state == "COMPLETED" and r.ended_seq is not None and r.ended_seq <= upto_seq]
    return min(done, key=lambda r: r.ended_seq) if done else None


def evaluate(deadline: Deadline, walk: Walk, meta: dict, *, moment: datetime, upto_seq: int | None = None,
             ended: bool = False) -> Outcome:
    """The deadline's outcome for the case as it stood after event `upto_seq` (all events when
    None), judged at `moment`. `ended`: the case is over (completed or cancelled) by then."""
    steps = walk.steps
    if not steps:
        return Outcome(deadline, NA, _role(deadline, meta))
    upto = upto_seq if upto_seq is not None else steps[-1].seq
    role = _role(deadline, meta)
    if deadline.within is not None:
        start = _at(steps[0].at)
        due = start + deadline.within
        done = _completed_by(walk.runs_of(deadline.end or ""), upto)
        return _judge(deadline, role, due, _at(done.ended_at) if done else None, moment, ended, runs=1)
    # timer deadlines: one judgement per arming of the timer
    timers = [r for r in walk.runs_of(deadline.timer or "") if r.started_seq is not None and r.started_seq <= upto]
    if not timers:
        return Outcome(deadline, NA, role)
    attached = (meta.get("boundaries") or {}).get(deadline.timer or "")
    outcomes = []
    for timer in sorted(timers, key=lambda r: (r.started_seq, r.task_id)):
        due = _at(timer.due)
        if deadline.end is not None:
            done = _completed_by(walk.runs_of(deadline.end), upto)
            done_at = _at(done.ended_at) if done else None
            fired = False
        else:
            # the run of the guarded task armed with this timer (same step), completed by `upto`
            candidates = [r for r in walk.runs_of(attached or "") if r.started_seq == timer.started_seq]
            guarded = candidates[0] if candidates else None
            done_at = None
            if guarded is not None and guarded.end_state == "COMPLETED" and guarded.ended_seq <= upto:
                done_at = _at(guarded.ended_at)
            fired = timer.fired and timer.ended_seq is not None and timer.ended_seq <= upto
            guarded_ended = guarded is not None and guarded.ended_seq is not None and guarded.ended_seq <= upto
            if fired and done_at is None and guarded_ended:  # an interrupting timer took the task away
                outcomes.append(Outcome(deadline, MISSED, role, due, None, 1, 1))
                continue
            if guarded_ended and done_at is None and (due is None or _at(guarded.ended_at) <= due):
                outcomes.append(Outcome(deadline, VOID, role, due, None, 1, 0))
                continue
        if due is None:  # the timer's due time is not known (not armed yet)
            outcomes.append(Outcome(deadline, OPEN, role, None, done_at, 1, 0))
            continue
        outcomes.append(_judge(deadline, role, due, done_at, moment, ended, runs=1, fired=fired))
    return _combine(deadline, role, outcomes)


def _judge(deadline, role, due, done_at, moment, ended, *, runs: int, fired: bool = False) -> Outcome:
    if done_at is not None:
        status = MET if done_at <= due else MISSED
    elif moment > due or fired:
        status = OVERDUE if not ended else MISSED
    elif ended:
        status = VOID
    else:
        status = OPEN
    return Outcome(deadline, status, role, due, done_at, runs, int(status in (MISSED, OVERDUE)))


def _combine(deadline: Deadline, role, outcomes: list[Outcome]) -> Outcome:
    if len(outcomes) == 1:
        return outcomes[0]
    order = [MISSED, OVERDUE, OPEN, MET, VOID, NA]
    worst = min(outcomes, key=lambda o: order.index(o.status))
    dues = [o.due for o in outcomes if o.due]
    dones = [o.done_at for o in outcomes if o.done_at]
    return Outcome(deadline, worst.status, role, worst.due or (min(dues) if dues else None),
                   max(dones) if dones else None, len(outcomes), sum(o.missed_runs for o in outcomes))


def case_outcomes(walk: Walk, *, moment: datetime | None = None, upto_seq: int | None = None,
                  ended: bool | None = None) -> list[Outcome]:
    """Every deadline of the case's procedure, judged at `moment` (default: now)."""
    info = definitions.info(walk.definition_id)
    meta = info.meta or {}
    moment = moment or clock.now()
    if ended is None:
        ended = _ended(walk, upto_seq)
    return [evaluate(d, walk, meta, moment=moment, upto_seq=upto_seq, ended=ended) for d in deadlines_for(walk.definition_id)]


def _ended(walk: Walk, upto_seq: int | None) -> bool:
    steps = [s for s in walk.steps if upto_seq is None or s.seq <= upto_seq]
    if not steps:
        return False
    last = steps[-1]
    return last.type == "instance_cancelled" or (not last.active and not last.error)


_facts_cache: OrderedDict[tuple[str, int, str], Walk] = OrderedDict()
FACTS_CACHE_SIZE = 20_000


def facts(instance) -> Walk:
    """What the deadlines of the case need. When every deadline of the procedure is counted
    from the start to a task's completion, the history events alone tell (no replay);
    otherwise the case is replayed. The facts (steps without their data, the task runs) are
    kept while the case's events stay exactly the same (their fingerprint)."""
    entries = deadlines_for(instance.definition_id)
    if entries and all(d.within is not None and d.timer is None for d in entries):
        return _events_only(instance)
    events = history.event_rows(instance.id)
    key = (definitions.database_scope(), instance.id, fingerprint(events))
    found = _facts_cache.get(key)
    if found is None:
        full = replay_walk(instance.id, events)
        light = [replace(s, payload={}, data={}, changed=[], removed=[]) for s in full.steps]
        found = Walk(full.instance_id, full.definition_id, full.last_hash, light, full.runs, full.failed_seq)
        _facts_cache[key] = found
        while len(_facts_cache) > FACTS_CACHE_SIZE:
            _facts_cache.popitem(last=False)
    return found


def _events_only(instance) -> Walk:
    events = history.event_rows(instance.id)
    steps = [Step(e.seq, e.at, e.actor, e.type, e.bpmn_id, e.task_id, {}, e.hash, [], [], {}) for e in events]
    runs = {}
    for e in events:
        if e.type in ("task_completed", "service_completed") and e.bpmn_id:
            key = f"{e.task_id}:{e.seq}"
            runs[key] = Run(key, e.bpmn_id, started_seq=e.seq, started_at=e.at, ended_seq=e.seq, ended_at=e.at,
                            end_state="COMPLETED")
    return Walk(instance.id, instance.definition_id, instance.last_hash, steps, runs)

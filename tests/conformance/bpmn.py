"""Compact builders for the BPMN and DMN we write for the conformance suite.

Each diagram is a few lines of Python instead of a page of XML: elements are strings,
`flows()` joins ids into sequence flows, `definitions()` wraps processes (and messages,
errors, signals, a collaboration) into one file. Written by hand for these tests.
"""

from __future__ import annotations

from html import escape
from itertools import count

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_ids = count(1)


def _attrs(attrs: dict) -> str:
    return "".join(f' {k}="{escape(str(v))}"' for k, v in attrs.items() if v is not None)


def el(tag: str, id: str | None = None, inner: str = "", **attrs) -> str:
    return f"<bpmn:{tag}{_attrs({'id': id, **attrs})}>{inner}</bpmn:{tag}>"


def text(tag: str, value: str, **attrs) -> str:
    return f"<bpmn:{tag}{_attrs(attrs)}>{escape(value)}</bpmn:{tag}>"


def ext(inner: str) -> str:
    return f"<bpmn:extensionElements>{inner}</bpmn:extensionElements>"


def spiff(tag: str, value: str = "", **attrs) -> str:
    return f"<spiffworkflow:{tag}{_attrs(attrs)}>{escape(value)}</spiffworkflow:{tag}>"


# ---------------------------------------------------------------- event definitions


def timer(kind: str, expr: str) -> str:
    """kind: timeDuration, timeDate or timeCycle; expr is Python (quote literals)."""
    return el("timerEventDefinition", inner=text(kind, expr))


def message(ref: str, variable: str | None = None, payload: str | None = None) -> str:
    """A message event definition: `variable` receives a caught payload, `payload` is the
    expression a throw sends."""
    inner = (spiff("messageVariable", variable) if variable else "") + (spiff("messagePayload", payload) if payload else "")
    return el("messageEventDefinition", inner=ext(inner) if inner else "", messageRef=ref)


def error(ref: str | None = None, variable: str | None = None) -> str:
    inner = ext(spiff("variableName", variable)) if variable else ""
    return el("errorEventDefinition", inner=inner, errorRef=ref)


def escalation(ref: str | None = None) -> str:
    return el("escalationEventDefinition", escalationRef=ref)


def signal(ref: str) -> str:
    return el("signalEventDefinition", signalRef=ref)


def conditional(expr: str) -> str:
    return el("conditionalEventDefinition", inner=text("condition", expr))


def terminate() -> str:
    return el("terminateEventDefinition")


def cancel() -> str:
    return el("cancelEventDefinition")


def compensate(ref: str | None = None) -> str:
    return el("compensateEventDefinition", activityRef=ref)


# ---------------------------------------------------------------- flow nodes


def start(id: str = "start", event: str = "", **attrs) -> str:
    return el("startEvent", id, event, **attrs)


def end(id: str = "end", event: str = "") -> str:
    return el("endEvent", id, event)


def catch(id: str, event: str) -> str:
    return el("intermediateCatchEvent", id, event)


def throw(id: str, event: str = "") -> str:
    return el("intermediateThrowEvent", id, event)


def boundary(id: str, attached: str, event: str, interrupting: bool = True) -> str:
    return el("boundaryEvent", id, event, attachedToRef=attached, cancelActivity=str(interrupting).lower())


def user(id: str, inner: str = "", name: str | None = None) -> str:
    return el("userTask", id, inner, name=name)


def manual(id: str, inner: str = "") -> str:
    return el("manualTask", id, inner)


def task(id: str, inner: str = "") -> str:
    return el("task", id, inner)


def script(id: str, code: str, inner: str = "") -> str:
    return el("scriptTask", id, inner + text("script", code))


def post_script(code: str) -> str:
    return ext(spiff("postScript", code))


def pre_script(code: str) -> str:
    return ext(spiff("preScript", code))


def gateway(kind: str, id: str, default: str | None = None, **attrs) -> str:
    """kind: exclusive, inclusive, parallel, eventBased, complex."""
    return el(f"{kind}Gateway", id, default=default, **attrs)


def call(id: str, called: str, inner: str = "") -> str:
    return el("callActivity", id, inner, calledElement=called)


def subprocess(id: str, body: str, event: bool = False, inner: str = "") -> str:
    return el("subProcess", id, inner + body, triggeredByEvent="true" if event else None)


def transaction(id: str, body: str) -> str:
    return el("transaction", id, body)


def business_rule(id: str, decision: str) -> str:
    return el("businessRuleTask", id, ext(spiff("calledDecisionId", decision)))


def send(id: str, message_ref: str, payload: str | None = None) -> str:
    inner = ext(spiff("messagePayload", payload)) if payload else ""
    return el("sendTask", id, inner, messageRef=message_ref)


def receive(id: str, message_ref: str, variable: str | None = None) -> str:
    inner = ext(spiff("messageVariable", variable)) if variable else ""
    return el("receiveTask", id, inner, messageRef=message_ref)


def mi(*, sequential: bool = False, cardinality: str | None = None, input: str | None = None,
       output: str | None = None, input_item: str | None = None, output_item: str | None = None,
       completion: str | None = None) -> str:
    """multiInstanceLoopCharacteristics: cardinality or an input collection, optional output."""
    inner = ""
    if cardinality is not None:
        inner += text("loopCardinality", cardinality)
    if input is not None:
        inner += text("loopDataInputRef", input)
    if output is not None:
        inner += text("loopDataOutputRef", output)
    if input_item is not None:
        inner += el("inputDataItem", input_item, name=input_item)
    if output_item is not None:
        inner += el("outputDataItem", output_item, name=output_item)
    if completion is not None:
        inner += text("completionCondition", completion)
    return el("multiInstanceLoopCharacteristics", inner=inner, isSequential=str(sequential).lower())


def loop(condition: str | None = None, maximum: int | None = None, test_before: bool = False) -> str:
    inner = text("loopCondition", condition) if condition else ""
    return el("standardLoopCharacteristics", inner=inner, loopMaximum=maximum, testBefore=str(test_before).lower())


def flows(*chain: str, cond: dict | None = None) -> str:
    """Sequence flows a->b->c...; `cond` maps 'a>b' to a condition expression. A flow's id
    is f_<source>_<target>, so a gateway's default can name it."""
    out = []
    cond = cond or {}
    for source, target in zip(chain, chain[1:], strict=False):
        expr = cond.get(f"{source}>{target}")
        inner = text("conditionExpression", expr) if expr else ""
        out.append(el("sequenceFlow", f"f_{source}_{target}", inner, sourceRef=source, targetRef=target))
    return "".join(out)


def process(id: str, *body: str, executable: bool = True, lanes: str = "") -> str:
    return el("process", id, lanes + "".join(body), isExecutable=str(executable).lower())


def collaboration(id: str, *process_ids: str) -> str:
    return el("collaboration", id, "".join(el("participant", f"p_{p}", processRef=p) for p in process_ids))


def definitions(*body: str, messages: tuple[str, ...] = (), errors: dict | None = None,
                escalations: dict | None = None, signals: tuple[str, ...] = (), extra: str = "") -> str:
    """A BPMN file. messages: names (id msg_<name>); errors/escalations: {name: code} (ids
    err_<name>, esc_<name>); signals: names (id sig_<name>)."""
    top = "".join(el("message", f"msg_{m}", name=m) for m in messages)
    top += "".join(el("error", f"err_{n}", name=n, errorCode=c) for n, c in (errors or {}).items())
    top += "".join(el("escalation", f"esc_{n}", name=n, escalationCode=c) for n, c in (escalations or {}).items())
    top += "".join(el("signal", f"sig_{s}", name=s) for s in signals)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:spiffworkflow="{SPIFF_NS}" '
        f'id="defs_{next(_ids)}" targetNamespace="http://example.org/conformance">'
        f"{top}{extra}{''.join(body)}</bpmn:definitions>"
    )


def dmn(decision_id: str, inputs: list[str], output: str, rules: list[tuple[list[str], str]],
        hit_policy: str = "UNIQUE") -> str:
    """A decision table: input expressions, one output, rules of (input cells, output cell)."""
    ns = "https://www.omg.org/spec/DMN/20191111/MODEL/"
    head = "".join(
        f'<input id="in_{i}"><inputExpression id="ie_{i}" typeRef="string"><text>{escape(expr)}</text></inputExpression></input>'
        for i, expr in enumerate(inputs)
    )
    head += f'<output id="out_0" name="{output}" typeRef="string"/>'
    body = ""
    for r, (cells, result) in enumerate(rules):
        entries = "".join(f'<inputEntry id="r{r}_i{i}"><text>{escape(c)}</text></inputEntry>' for i, c in enumerate(cells))
        body += f'<rule id="r{r}">{entries}<outputEntry id="r{r}_o"><text>{escape(result)}</text></outputEntry></rule>'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><definitions xmlns="{ns}" id="dmn_{decision_id}" name="d" namespace="http://example.org">'
        f'<decision id="{decision_id}" name="{decision_id}"><decisionTable id="dt_{decision_id}" hitPolicy="{hit_policy}">'
        f"{head}{body}</decisionTable></decision></definitions>"
    )

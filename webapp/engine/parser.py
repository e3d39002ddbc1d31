"""Turn uploaded BPMN/DMN files into SpiffWorkflow specs, and say what is wrong with them.

Besides SpiffWorkflow's own parse, one pass over the XML collects what the rest of the
system needs and the library does not keep: which lane (role) holds each task, the forms
of tasks and of the start event, the business-key prefix, the operators of service tasks.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BaseMessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessageEventDefinition

from .errors import DefinitionInvalid, LanesUnmapped
from .lanes import lane_role, role_catalog
from .sandbox import RestrictedScriptEngine, check_dmn_cell, check_expression, check_script
from .xml_safety import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

USER_TASK_TAGS = ("userTask", "manualTask")


class DeferredServiceTask(ServiceTask):
    """A service task that waits for a worker instead of calling the service inline.

    The evaluated parameters are kept in internal_data; the task stays STARTED until the
    runtime completes it with the worker's result.
    """

    def _execute(self, task):
        if "service_params" not in task.internal_data:
            params = self.evaluate_params(task)
            task.internal_data["service_params"] = {k: v["value"] for k, v in params.items()}
        return None


class PayloadMessageEventDefinition(SpiffMessageEventDefinition):
    """A message catch without `spiffworkflow:messageVariable`: the payload lands in the
    task data as SpiffWorkflow's standard BPMN parser puts it (its keys merged in), where
    the spiff dialect would keep it out of the data. Equal to any message definition of the
    same name, so events built with either class still meet."""

    def update_task_data(self, my_task):
        if self.message_var is not None:
            return super().update_task_data(my_task)
        payload = my_task.internal_data.get(self.name)
        if isinstance(payload, dict):
            my_task.set_data(**payload)

    def __eq__(self, other):
        return isinstance(other, BaseMessageEventDefinition) and self.name == other.name


def _standard_payloads(spec) -> None:
    from .waits import definitions_of

    for task_spec in spec.task_specs.values():
        for definition in definitions_of(getattr(task_spec, "event_definition", None)):
            if type(definition) is SpiffMessageEventDefinition and definition.message_var is None:
                definition.__class__ = PayloadMessageEventDefinition


class AftersalesBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, DeferredServiceTask),
    }

    def get_spec(self, process_id, required=True):
        spec = super().get_spec(process_id, required=required)
        if spec is not None:
            _standard_payloads(spec)
        return spec


_validator: BpmnValidator | None = None


def _xsd_validator() -> BpmnValidator:
    global _validator
    if _validator is None:
        _validator = BpmnValidator()
    return _validator


@dataclass
class ParsedDefinition:
    key: str
    name: str
    spec: object
    subprocess_specs: dict
    meta: dict
    problems: dict = field(default_factory=dict)


def _properties(node) -> dict[str, str]:
    props = {}
    for prop in node.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        props[prop.get("name")] = prop.get("value")
    return props


def _form_of(node) -> dict | None:
    props = _properties(node)
    schema = props.get("formJsonSchemaFilename")
    if not schema:
        return None
    return {"schema": schema, "ui_schema": props.get("formUiSchemaFilename")}


def _local(tag: str) -> str:
    return etree.QName(tag).localname


def _start_messages(root, process) -> list[str]:
    """Names of the messages the process's own start events catch."""
    names = []
    for definition in process.iterfind("bpmn:startEvent/bpmn:messageEventDefinition", NS):
        message = root.find(f"bpmn:message[@id='{definition.get('messageRef')}']", NS)
        if message is not None:
            names.append(message.get("name") or message.get("id"))
    return sorted(set(names))


BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")


def is_bpmn_file(name: str) -> bool:
    """Diagram files: .bpmn, and .bpmn20.xml as Flowable/Activiti and SpiffArena export them."""
    return name.lower().endswith(BPMN_SUFFIXES)


def _lane_table(process, lane_roles: dict[str, str], roles) -> tuple[dict, dict]:
    """flow node id -> (role, lane name, lane id), and lane id -> {name, role} for every lane."""
    by_node: dict[str, tuple[str | None, str, str]] = {}
    lanes: dict[str, dict] = {}
    # Document order visits a lane before its child lanes, so the innermost lane wins.
    for lane in process.iterfind(".//bpmn:lane", NS):
        name = lane.get("name") or lane.get("id")
        role = lane_role(lane.get("id"), lane.get("name"), lane_roles, roles)
        lanes[lane.get("id")] = {"name": name, "role": role}
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text:
                by_node[ref.text.strip()] = (role, name, lane.get("id"))
    return by_node, lanes


def _lane_of(node, by_node: dict) -> tuple[str | None, str | None, str | None]:
    """The node's own lane, else the lane of the nearest subprocess around it (a lane
    partitions the flow nodes of its process; an embedded subprocess' content belongs
    where the subprocess is, unless a lane lists it itself)."""
    while node is not None and isinstance(node.tag, str):
        if node.get("id") in by_node:
            return by_node[node.get("id")]
        node = node.getparent()
        if node is None or _local(node.tag) == "process":
            break
    return None, None, None


def collect_meta(root, process_id: str, lane_roles: dict[str, str] | None = None, roles=None, others=()) -> dict:
    """What our runtime needs to know of one process, read straight from the XML.

    `others` are the roots of the definition's other files: their processes' tasks (reached
    through call activities) get their forms and lanes too."""
    roles = role_catalog() if roles is None else roles
    lane_roles = lane_roles or {}
    process = root.find(f"bpmn:process[@id='{process_id}']", NS)
    by_node, lanes = _lane_table(process, lane_roles, roles)
    meta: dict = {
        "process_id": process_id,
        "name": process.get("name") or process_id,
        "business_key_prefix": _properties(process).get("businessKeyPrefix")
        or process_id[:2].upper(),
        "start_form": None,
        "tasks": {},
        "service_tasks": {},
        "elements": {},
        "element_roles": {},
        "boundaries": {
            b.get("id"): b.get("attachedToRef") for b in process.iterfind(".//bpmn:boundaryEvent", NS)
        },
        "lanes": {lane_id: lane["name"] for lane_id, lane in lanes.items()},
        "start_messages": _start_messages(root, process),
        "has_lanes": bool(lanes),
        "lane_roles": {lane_id: lane["role"] for lane_id, lane in lanes.items()},
        "has_messages": process.find(".//bpmn:messageEventDefinition", NS) is not None
        or process.find(".//bpmn:receiveTask", NS) is not None,
    }
    if lane_roles:
        meta["lane_mapping"] = dict(sorted(lane_roles.items()))
    _collect_nodes(meta, process, by_node, main=True)
    called = [p for r in (root, *others) for p in r.iterfind("bpmn:process", NS) if p is not process]
    for other in called:
        other_by_node, other_lanes = _lane_table(other, lane_roles, roles)
        for lane_id, lane in other_lanes.items():
            meta["lanes"].setdefault(lane_id, lane["name"])
            meta["lane_roles"].setdefault(lane_id, lane["role"])
        _collect_nodes(meta, other, other_by_node, main=False)
    return meta


def _collect_nodes(meta: dict, process, by_node: dict, *, main: bool) -> None:
    for node in process.iter():
        if not isinstance(node.tag, str) or etree.QName(node.tag).namespace != BPMN_NS:
            continue
        node_id, tag = node.get("id"), _local(node.tag)
        if not node_id or tag in ("lane", "laneSet", "process") or node_id in meta["elements"]:
            continue
        meta["elements"][node_id] = {"type": tag, "name": node.get("name") or node_id}
        role, lane_name, lane_id = _lane_of(node, by_node)
        if role:
            meta["element_roles"][node_id] = role
        if main and tag == "startEvent" and node.getparent() is process and "start_role" not in meta:
            meta["start_form"] = _form_of(node)
            meta["start_role"] = role
        if tag in USER_TASK_TAGS:
            instructions = node.find(
                "bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS
            )
            variable = node.find("bpmn:extensionElements/spiffworkflow:variableName", NS)
            metadata = {
                value.get("name"): value.get("value")
                for value in node.iterfind(
                    "bpmn:extensionElements/spiffworkflow:taskMetadataValues/spiffworkflow:taskMetadataValue", NS
                )
                if value.get("name")
            }
            meta["tasks"][node_id] = {
                "name": node.get("name") or node_id,
                "role": role,
                "lane_name": lane_name,
                "lane_id": lane_id,
                "main_process": main,
                "form": _form_of(node),
                "instructions": instructions.text if instructions is not None else "",
                **({"variable": variable.text.strip()} if variable is not None and (variable.text or "").strip() else {}),
                **({"metadata": metadata} if metadata else {}),
            }
        if tag == "serviceTask":
            operator = node.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
            meta["service_tasks"][node_id] = operator.get("id") if operator is not None else None


def _code_problems(root, filename: str) -> dict[str, str]:
    """Conditions, timer expressions, scripts and parameters that the sandbox refuses."""
    problems: dict[str, str] = {}

    def owner(node) -> str:
        while node is not None and not node.get("id"):
            node = node.getparent()
        return node.get("id") if node is not None else filename

    for expr in root.iterfind(".//bpmn:conditionExpression", NS):
        if expr.text and (reason := check_expression(expr.text)):
            problems[owner(expr)] = f"condition: {reason}"
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for expr in root.iterfind(f".//bpmn:{tag}", NS):
            if expr.text and (reason := check_expression(expr.text)):
                problems[owner(expr)] = f"timer: {reason}"
    for script in root.iterfind(".//bpmn:script", NS):
        if script.text and (reason := check_script(script.text)):
            problems[owner(script)] = f"script: {reason}"
    for tag in ("preScript", "postScript"):
        for script in root.iterfind(f".//spiffworkflow:{tag}", NS):
            if script.text and (reason := check_script(script.text)):
                problems[owner(script)] = f"{tag}: {reason}"
    for param in root.iterfind(".//spiffworkflow:parameter", NS):
        if (reason := check_expression(param.get("value") or "None")):
            problems[owner(param)] = f"parameter {param.get('id')}: {reason}"
    for value in root.iterfind(".//spiffworkflow:taskMetadataValue", NS):
        if (reason := check_expression(value.get("value") or "None")):
            problems[owner(value)] = f"task metadata {value.get('name')}: {reason}"
    return problems


# A bare name that is an ISO 8601 repetition or duration (R2, PT1S, P1DT2H): meant to be quoted.
_ISO_NAME = re.compile(r"^(R\d*|P(\d+[YMWD])*(T(\d+[HMS])+)?)$", re.IGNORECASE)
_TIMER_PARSERS = {
    "timeDuration": TimerEventDefinition.parse_iso_duration,
    "timeDate": TimerEventDefinition.parse_time_or_duration,
    "timeCycle": TimerEventDefinition.parse_iso_recurring_interval,
}


def _structure_problems(root) -> dict[str, str]:
    """Diverging gateways that can get stuck, timers that do not evaluate, script unit tests that fail."""
    problems: dict[str, str] = {}
    flows = list(root.iterfind(".//bpmn:sequenceFlow", NS))
    for tag in ("exclusiveGateway", "inclusiveGateway"):
        for gateway in root.iterfind(f".//bpmn:{tag}", NS):
            outgoing = [flow for flow in flows if flow.get("sourceRef") == gateway.get("id")]
            if len(outgoing) < 2 or gateway.get("default"):
                continue
            bare = [flow.get("id") for flow in outgoing if flow.find("bpmn:conditionExpression", NS) is None]
            if bare:
                verb = "has" if len(bare) == 1 else "have"
                problems[gateway.get("id")] = f"diverging gateway has no default flow and {', '.join(bare)} {verb} no condition"
    problems.update(_unsupported_problems(root))
    for tag, parse in _TIMER_PARSERS.items():
        for expr in root.iterfind(f".//bpmn:{tag}", NS):
            owner = expr.getparent().getparent()
            if reason := _timer_problem(expr.text or "", parse):
                problems.setdefault(owner.get("id"), f"timer: {reason}")
    for element, reason in _unit_test_problems(root).items():
        problems.setdefault(element, reason)
    return problems


def _unsupported_problems(root) -> dict[str, str]:
    """Elements SpiffWorkflow 3.2 parses but does not run as drawn (docs/bpmn-support.md)."""
    problems: dict[str, str] = {}
    for node in root.iterfind(".//bpmn:adHocSubProcess", NS):
        problems[node.get("id")] = "ad hoc subprocesses fail in SpiffWorkflow 3.2 when they run"
    for node in root.iterfind(".//bpmn:linkEventDefinition", NS):
        event = node.getparent()
        problems[event.get("id")] = "SpiffWorkflow 3.2 ignores link events: the path would end at the link; draw the flow"
    for kind in ("errorEventDefinition", "escalationEventDefinition"):
        for node in root.iterfind(f".//bpmn:subProcess[@triggeredByEvent='true']/bpmn:startEvent/bpmn:{kind}", NS):
            start = node.getparent()
            problems[start.get("id")] = (
                f"an event subprocess started by {kind[:-15]} runs at once in SpiffWorkflow 3.2, "
                "without waiting for it; use a boundary event on a subprocess instead"
            )
    return problems


_deploy_engine = None


def _script_environment():
    """The sandbox's script environment, used at deploy time with no task data: the same
    code path as the running engine (timer expressions, unit tests of scripts)."""
    global _deploy_engine
    if _deploy_engine is None:
        _deploy_engine = RestrictedScriptEngine()
    return _deploy_engine.environment


def _timer_problem(source: str, parse) -> str | None:
    """SpiffWorkflow evaluates a timer expression as Python when the timer starts. One that
    uses no case data is evaluated here, through the sandbox, and its value parsed as the
    timer will parse it; bare ISO-looking names (R2/PT1S) were meant to be quoted. An
    expression that reads case data can only be computed when the case reaches it."""
    text = source.strip()
    if not text:
        return "no expression"
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None  # the sandbox check reports it
    names = sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)})
    iso = [name for name in names if _ISO_NAME.match(name) and name.upper() != "P"]
    if iso:
        return f"{text} is read as Python ({', '.join(iso)} as variable names): write it in quotes, \"{text}\""
    if names:
        return None
    try:
        value = _script_environment().evaluate(text, {})
    except Exception as err:  # whatever the expression raises, the timer would raise at run time
        return f"{text} cannot be evaluated: {type(err).__name__}: {err}"
    if not isinstance(value, str):
        return f"{text} gives {type(value).__name__} {value!r}, not an ISO 8601 text"
    try:
        parse(value)
    except Exception:  # the library raises bare Exception, ValueError, AttributeError...
        return f"{value!r} is not an ISO 8601 value this timer accepts"
    return None


def _unit_test_problems(root) -> dict[str, str]:
    """SpiffArena's spiffworkflow:unitTests on script tasks: each runs the script through
    the sandbox on its inputJson and must leave exactly its expectedOutputJson."""
    problems: dict[str, str] = {}
    for task in root.iterfind(".//bpmn:scriptTask", NS):
        tests = task.findall("bpmn:extensionElements/spiffworkflow:unitTests/spiffworkflow:unitTest", NS)
        script = task.findtext("bpmn:script", default="", namespaces=NS)
        failures = []
        for test in tests:
            test_id = test.get("id") or "unit test"
            try:
                given = json.loads(test.findtext("spiffworkflow:inputJson", default="{}", namespaces=NS) or "{}")
                expected = json.loads(
                    test.findtext("spiffworkflow:expectedOutputJson", default="{}", namespaces=NS) or "{}"
                )
            except ValueError as err:
                failures.append(f"{test_id}: not valid JSON: {err}")
                continue
            if not isinstance(given, dict) or not isinstance(expected, dict):
                failures.append(f"{test_id}: inputJson and expectedOutputJson must be JSON objects")
                continue
            context = dict(given)
            try:
                _script_environment().execute(script, context)
            except Exception as err:  # a failing script is the test's result, not ours
                failures.append(f"{test_id}: the script raised {type(err).__name__}: {err}")
                continue
            if context != expected:
                got = json.dumps(context, ensure_ascii=False, sort_keys=True, default=str)
                want = json.dumps(expected, ensure_ascii=False, sort_keys=True)
                failures.append(f"{test_id}: expected {want}, got {got}")
        if failures:
            problems[task.get("id")] = "unit test failed: " + "; ".join(failures)
    return problems


def _dmn_cell_problems(root) -> dict[str, str]:
    """Input expressions and rule cells of decision tables that the sandbox refuses."""
    problems: dict[str, str] = {}
    for node in root.iter():
        if not isinstance(node.tag, str) or _local(node.tag) != "text" or not (node.text or "").strip():
            continue
        owner = node.getparent()
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        kind = _local(node.getparent().tag)
        text = node.text.strip()
        if text == "-":
            continue
        reason = check_expression(text) if kind == "inputExpression" else check_dmn_cell(text)
        if reason and owner is not None:
            problems[owner.get("id")] = f"decision cell {text!r}: {reason}"
    return problems


def _executable_process_ids(root) -> list[str]:
    return [
        p.get("id")
        for p in root.iterfind("bpmn:process", NS)
        if p.get("isExecutable", "true").lower() == "true"
    ]


def parse_definition(
    bpmn_files: dict[str, bytes],
    dmn_files: dict[str, bytes],
    forms: dict[str, object],
    known_operators: set[str] | None = None,
    lane_roles: dict[str, str] | None = None,
) -> ParsedDefinition:
    """Parse and validate. Raises DefinitionInvalid naming each bad element and why.

    `lane_roles` maps lanes (by id or name) that match no role by themselves to role codes."""
    if not bpmn_files:
        raise DefinitionInvalid("no .bpmn file uploaded", {"files": "at least one .bpmn file is required"})
    parser = AftersalesBpmnParser(validator=_xsd_validator())
    problems: dict[str, str] = {}
    main_root, main_key = None, None
    trees = {}
    for filename, content in bpmn_files.items():
        trees[filename] = parse_xml(content, filename)
    for filename, content in dmn_files.items():
        tree = parse_xml(content, filename)
        problems.update(_dmn_cell_problems(tree.getroot()))
        try:
            parser.add_dmn_xml(tree.getroot(), filename=filename)
        except (ValidationException, SpiffWorkflowException) as err:
            problems[getattr(err, "id", "") or filename] = str(err)
    for filename, tree in trees.items():
        root = tree.getroot()
        problems.update(_code_problems(root, filename))
        for element, reason in _structure_problems(root).items():
            problems.setdefault(element, reason)
        if problems:
            continue
        try:
            parser.add_bpmn_xml(root, filename=filename)
        except ValidationException as err:
            problems[err.id or filename] = f"{err} (line {err.line_number})" if err.line_number else str(err)
            continue
        except SpiffWorkflowException as err:
            problems[filename] = str(err)
            continue
        if main_root is None:
            ids = _executable_process_ids(root)
            if not ids:
                problems[filename] = "no executable process"
                continue
            main_root, main_key, main_file = root, ids[0], filename
    if problems:
        raise DefinitionInvalid(_summary(problems), problems)

    collaboration = collaboration_of(main_root)
    try:
        spec, subprocess_specs = load_spec(parser, main_key, collaboration)
    except (ValidationException, SpiffWorkflowException) as err:
        element = getattr(err, "id", "") or main_key
        raise DefinitionInvalid(f"{element}: {err}", {element: str(err)}) from None

    others = [tree.getroot() for tree in trees.values() if tree.getroot() is not main_root]
    meta = collect_meta(main_root, main_key, lane_roles, others=others)
    meta["main_file"] = main_file
    if collaboration:
        meta = _collaboration_meta(main_root, collaboration, meta, lane_roles)
    problems.update(_meta_problems(meta, forms, known_operators))
    problems.update(lane_mapping_problems(meta, lane_roles or {}))
    if problems:
        unmapped = unmapped_lanes_with_tasks(meta)
        if unmapped:
            raise LanesUnmapped(_summary(problems), problems, lanes=unmapped)
        raise DefinitionInvalid(_summary(problems), problems)
    return ParsedDefinition(main_key, meta["name"], spec, subprocess_specs, meta)


def collaboration_of(root) -> str | None:
    """The id of the file's collaboration when it joins two or more executable processes:
    such a file runs as SpiffWorkflow runs a collaboration (`get_collaboration`), one
    workflow in which every participant's process runs and their messages meet. A
    collaboration around one process (as the modeler draws pools) changes nothing."""
    executable = set(_executable_process_ids(root))
    for collaboration in root.iterfind("bpmn:collaboration", NS):
        refs = {p.get("processRef") for p in collaboration.iterfind("bpmn:participant", NS)}
        if len(refs & executable) >= 2:
            return collaboration.get("id")
    return None


def load_spec(parser: SpiffBpmnParser, process_id: str, collaboration: str | None) -> tuple[object, dict]:
    if collaboration:
        return parser.get_collaboration(collaboration)
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


def _collaboration_meta(root, collaboration: str, first: dict, lane_roles: dict | None = None) -> dict:
    """The first process's meta, with the tasks, lanes and elements of every participant."""
    meta = dict(first, collaboration=collaboration)
    for process_id in _executable_process_ids(root)[1:]:
        other = collect_meta(root, process_id, lane_roles)
        for key in ("tasks", "service_tasks", "elements", "boundaries", "lanes", "lane_roles", "element_roles"):
            meta[key] = {**other[key], **meta[key]}
        meta["has_messages"] = meta["has_messages"] or other["has_messages"]
    meta["processes"] = _executable_process_ids(root)
    return meta


def unmapped_lanes_with_tasks(meta: dict) -> list[dict]:
    """Lanes that hold user tasks but stand for no role: their tasks would reach nobody."""
    lanes = {task["lane_id"] for task in meta["tasks"].values() if task.get("lane_id") and not task["role"]}
    return [{"id": lane_id, "name": meta["lanes"].get(lane_id) or lane_id} for lane_id in sorted(lanes)]


def unmapped_lanes(meta: dict) -> list[dict]:
    return [
        {"id": lane_id, "name": meta["lanes"].get(lane_id) or lane_id}
        for lane_id, role in sorted((meta.get("lane_roles") or {}).items())
        if role is None
    ]


def lane_mapping_problems(meta: dict, lane_roles: dict[str, str]) -> dict[str, str]:
    """A task in a lane that maps to no role would be an orphan nobody may open: refused,
    naming the lane and the roles it could map to. Mapped lanes must name real roles."""
    codes = [code for code, _zh, _en in role_catalog()]
    problems: dict[str, str] = {}
    lanes_by_name = {name: lane_id for lane_id, name in meta["lanes"].items()}
    for key, role in lane_roles.items():
        if key not in meta["lanes"] and key not in lanes_by_name:
            problems["lane_roles"] = f"no lane has the id or name {key!r}"
        elif role not in codes:
            problems["lane_roles"] = f"{role!r} (for lane {key!r}) is not a role; known roles: {', '.join(codes)}"
    for lane in unmapped_lanes_with_tasks(meta):
        problems[lane["id"]] = (
            f"lane {lane['name']!r} matches no role, so nobody could work on its tasks: "
            f"map it in lane_roles to one of {', '.join(codes)}"
        )
    return problems


def _meta_problems(meta: dict, forms: dict, known_operators: set[str] | None) -> dict[str, str]:
    from .forms import schema_problem

    problems: dict[str, str] = {}
    referenced = [("start", meta["start_form"])] + [
        (task_id, task["form"]) for task_id, task in meta["tasks"].items()
    ]
    for element, form in referenced:
        if not form:
            continue
        for kind in ("schema", "ui_schema"):
            filename = form.get(kind)
            if filename and filename not in forms:
                problems[element] = f"form file {filename} was not uploaded"
            elif filename and kind == "schema" and (reason := schema_problem(forms[filename])):
                problems[element] = f"form {filename}: {reason}"
    for task_id, task in meta["tasks"].items():
        if task.get("main_process", True) and meta.get("has_lanes", bool(meta["lanes"])) and task.get("lane_id") is None:
            problems[task_id] = "user task is in no lane, so no role may work on it"
    for task_id, operator in meta["service_tasks"].items():
        if not operator:
            problems[task_id] = "service task has no operator"
        elif known_operators is not None and operator not in known_operators:
            problems[task_id] = f"unknown operator {operator}"
    return problems


def _summary(problems: dict[str, str]) -> str:
    return "; ".join(f"{element}: {reason}" for element, reason in problems.items())

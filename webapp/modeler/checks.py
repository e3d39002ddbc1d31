"""Validate and diff what the modeler sends: problems by element id, changes by element id.

Validation is the deploy's own check (webapp.engine.parser.parse_definition: XSD, parse,
sandbox, lanes, gateways, timers, forms, operators), run without storing anything, plus the
checks that the parse skips once a file has a problem (forms and operators of every task), so
that the process owner sees every problem at once. Problems the parser can only place in a
file ("line 12") are moved to the element on that line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from lxml import etree

from ..engine.errors import DefinitionInvalid
from ..engine.parser import (
    BPMN_NS,
    NS,
    _executable_process_ids,
    _meta_problems,
    collect_meta,
    is_bpmn_file,
    lane_mapping_problems,
    parse_definition,
    unmapped_lanes_with_tasks,
)
from ..engine.translations import diagram_table_name, form_table_name
from ..engine.xml_safety import parse_xml

LINE = re.compile(r"line (\d+)")
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass
class Checked:
    key: str | None
    problems: dict[str, str] = field(default_factory=dict)
    unmapped_lanes: list[dict] = field(default_factory=list)  # lanes with tasks that map to no role

    @property
    def ok(self) -> bool:
        return not self.problems


def split_working_set(files: dict[str, str], forms: dict[str, object]) -> tuple[dict, dict, dict]:
    """(bpmn, dmn, forms) of what the modeler sends, keeping only the forms (with their
    translation tables) and decision tables the diagrams name (so a version's content hash
    is its own, as deploy_directory does)."""
    bpmn = {name: text.encode("utf-8") for name, text in files.items() if is_bpmn_file(name)}
    texts = "".join(text for name, text in files.items() if is_bpmn_file(name))
    dmn = {}
    for name, text in files.items():
        if name.endswith(".dmn") and any(f">{d}<" in texts for d in decision_ids(text)):
            dmn[name] = text.encode("utf-8")
    used = {name: form for name, form in forms.items() if f'"{name}"' in texts}
    # the translation tables of those forms and of the diagrams travel with them (docs/forms.md)
    tables = {form_table_name(name) for name in used} | {diagram_table_name(name) for name in bpmn}
    used.update({name: form for name, form in forms.items() if name in tables})
    return bpmn, dmn, used


def decision_ids(dmn_text: str) -> list[str]:
    return re.findall(r'<(?:\w+:)?decision\b[^>]*\bid="([^"]+)"', dmn_text)


def uploads_of(files: dict[str, str], forms: dict[str, object]) -> dict[str, bytes]:
    """The files deploy() takes, as if uploaded through the API."""
    bpmn, dmn, used = split_working_set(files, forms)
    uploads = {**bpmn, **dmn}
    uploads.update({name: json.dumps(form, ensure_ascii=False, indent=2).encode("utf-8") for name, form in used.items()})
    return uploads


def check(
    files: dict[str, str], forms: dict[str, object], known_operators: set[str] | None, lane_roles: dict | None = None
) -> Checked:
    bpmn, dmn, used = split_working_set(files, forms)
    result = Checked(None)
    try:
        result.key = parse_definition(bpmn, dmn, used, known_operators, lane_roles=lane_roles).key
    except DefinitionInvalid as err:
        result.problems.update(err.errors or {"files": err.message})
        result.unmapped_lanes = getattr(err, "lanes", [])
    trees = {}
    for name, content in {**bpmn, **dmn}.items():
        try:
            trees[name] = parse_xml(content, name)
        except DefinitionInvalid as err:
            result.problems.update(err.errors)
    main = next(iter(bpmn), None)  # the main file comes first (the modeler sends it so)
    for name, tree in trees.items():
        if not is_bpmn_file(name):
            continue
        root = tree.getroot()
        ids = _executable_process_ids(root)
        if ids and result.key is None:
            result.key = ids[0]
        for process_id in ids[:1]:
            meta = collect_meta(root, process_id, lane_roles)
            found = _meta_problems(meta, used, known_operators)
            if name == main:  # the mapping names the main process' lanes; called files have their own
                found.update(lane_mapping_problems(meta, lane_roles or {}))
            result.unmapped_lanes = result.unmapped_lanes or unmapped_lanes_with_tasks(meta)
            for element, reason in found.items():
                result.problems.setdefault(element, reason)
    result.problems = _placed(result.problems, trees)
    return result


def _placed(problems: dict[str, str], trees: dict) -> dict[str, str]:
    """A problem keyed by a file name that names a line goes to the element on that line."""
    placed: dict[str, str] = {}
    for key, reason in problems.items():
        tree, match = trees.get(key), LINE.search(reason)
        element = _element_at(tree, int(match.group(1))) if tree is not None and match else None
        if element and element not in problems:
            placed[element] = reason
        else:
            placed[key] = reason
    return placed


def _element_at(tree, line: int) -> str | None:
    for node in tree.getroot().iter():
        if isinstance(node.tag, str) and node.sourceline == line:
            while node is not None and not node.get("id"):
                node = node.getparent()
            return node.get("id") if node is not None else None
    return None


# ---------------------------------------------------------------- diff between versions

DI_NAMESPACES = (
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI",
)
_SKIPPED_CHILDREN = {"incoming", "outgoing", "flowNodeRef"}
# Attributes written with BPMN's default value mean the same as no attribute (bpmn-js drops them).
DEFAULTS = {
    ("cancelActivity", "true"), ("isInterrupting", "true"), ("isForCompensation", "false"), ("startQuantity", "1"),
    ("completionQuantity", "1"), ("parallelMultiple", "false"), ("gatewayDirection", "Unspecified"), ("isClosed", "false"),
    ("isImmediate", "true"), ("instantiate", "false"), ("isSequential", "false"),
}


def _elements(xml: str) -> dict[str, etree._Element]:
    root = parse_xml(xml, "diagram.bpmn").getroot()
    found = {}
    for node in root.iter():
        if not isinstance(node.tag, str) or etree.QName(node.tag).namespace != BPMN_NS:
            continue
        local = etree.QName(node.tag).localname
        if node.get("id") and local not in ("definitions", "laneSet") and not local.endswith("EventDefinition"):
            found[node.get("id")] = node
    return found


def _lanes(xml: str) -> dict[str, str]:
    root = parse_xml(xml, "diagram.bpmn").getroot()
    return {
        ref.text.strip(): lane.get("id")
        for lane in root.iterfind(".//bpmn:lane", NS)
        for ref in lane.iterfind("bpmn:flowNodeRef", NS)
        if ref.text
    }


def _signature(node, lane: str | None) -> dict[str, str]:
    """What the engine reads of one element: attributes, lane, and its own child content
    (extensions, conditions, event definitions), without its links and nested elements."""
    parts = {f"@{k}": v for k, v in sorted(node.attrib.items()) if (k, v) not in DEFAULTS}
    if lane:
        parts["lane"] = lane
    for child in node:
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child.tag).localname
        if local in _SKIPPED_CHILDREN or (child.get("id") and not local.endswith("EventDefinition")):
            continue
        parts[local] = _canonical(child)
    return parts


def _canonical(node) -> str:
    """An element as the engine reads it: names without prefixes, attributes sorted, without
    ids and xsi:type, whitespace collapsed (so bpmn-js' way of writing XML is no change)."""
    bpmn = etree.QName(node).namespace == BPMN_NS
    attrs = sorted(
        (etree.QName(k).localname, v)
        for k, v in node.attrib.items()
        if etree.QName(k).namespace != XSI and not (bpmn and k == "id") and (k, v) not in DEFAULTS
    )
    text = re.sub(r"\s+", " ", (node.text or "").strip())
    children = "".join(_canonical(c) for c in node if isinstance(c.tag, str))
    return f"<{etree.QName(node).localname} {attrs}>{text}{children}</>"


def diff(xml_a: str, xml_b: str) -> dict:
    """Elements added (in b only), removed (in a only) and changed (with what changed)."""
    a, b = _elements(xml_a), _elements(xml_b)
    lanes_a, lanes_b = _lanes(xml_a), _lanes(xml_b)
    changed = {}
    for element_id in sorted(set(a) & set(b)):
        sig_a, sig_b = _signature(a[element_id], lanes_a.get(element_id)), _signature(b[element_id], lanes_b.get(element_id))
        what = sorted(k.lstrip("@") for k in set(sig_a) | set(sig_b) if sig_a.get(k) != sig_b.get(k))
        if etree.QName(a[element_id].tag).localname != etree.QName(b[element_id].tag).localname:
            what = ["type", *what]
        if what:
            changed[element_id] = what
    names = {element_id: node.get("name") or element_id for element_id, node in {**a, **b}.items()}
    kinds = {element_id: etree.QName(node.tag).localname for element_id, node in {**a, **b}.items()}
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
        "changed": changed,
        "names": names,
        "kinds": kinds,
    }


def diff_files(files_a: dict[str, str], files_b: dict[str, str], forms_a: dict, forms_b: dict) -> dict:
    """The diff of the main diagrams plus which decision tables and forms changed."""
    main_a = next((t for n, t in files_a.items() if is_bpmn_file(n)), "")
    main_b = next((t for n, t in files_b.items() if is_bpmn_file(n)), "")
    result = diff(main_a, main_b)
    dmn = sorted(n for n in set(files_a) | set(files_b) if n.endswith(".dmn") and files_a.get(n) != files_b.get(n))
    result["decision_files"] = dmn
    result["form_files"] = sorted(n for n in set(forms_a) | set(forms_b) if forms_a.get(n) != forms_b.get(n))
    return result

"""Add missing entries to the translation tables beside the forms and diagrams.

    .venv/bin/python scripts/i18n_tables.py [--language en] [--fill zh.txt en.txt]

For every form (processes/forms/X-schema.json + X-uischema.json) and diagram
(processes/*.bpmn) it lists the texts people read (titles, descriptions, option titles,
hints; element names and task instructions) and adds each one missing from `X-i18n.json` / `<diagram>-i18n.json`
with an empty translation, for the process owner to fill in (an empty entry shows the text as
written). `--fill` takes two files of equal length, one text a line, and fills empty entries
from them. Prints the entries still empty. See docs/forms.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp.engine.translations import TEXT_KEYS, diagram_table_name, form_table_name  # noqa: E402
from webapp.engine.xml_safety import parse_xml  # noqa: E402

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
CJK = re.compile(r"[\u3400-\u9fff]")


def form_texts(*documents: object) -> list[str]:
    found: list[str] = []

    def walk(node: object, key: str | None = None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in TEXT_KEYS and CJK.search(node) and node not in found:
            found.append(node)

    for document in documents:
        walk(document)
    return found


def instruction_texts(path: Path) -> list[str]:
    """Task instructions (spiffworkflow:instructionsForEndUser), each the template as written:
    that is the table key, and its translation is a template rendered with the same data."""
    found: list[str] = []
    for element in parse_xml(path.read_bytes(), path.name).getroot().iter():
        if isinstance(element.tag, str) and element.tag.endswith("}instructionsForEndUser"):
            if element.text and CJK.search(element.text) and element.text not in found:
                found.append(element.text)
    return found


def diagram_texts(path: Path) -> list[str]:
    """Element names, then task instructions."""
    found: list[str] = []
    for element in parse_xml(path.read_bytes(), path.name).getroot().iter():
        name = element.get("name") if isinstance(element.tag, str) else None
        # extension properties (spiffworkflow:property) carry data, not names
        if name and CJK.search(name) and not element.tag.endswith("}property") and name not in found:
            found.append(name)
    return found + [text for text in instruction_texts(path) if text not in found]


def tables(folder: Path = PROCESSES) -> dict[Path, list[str]]:
    """Table file -> the texts it should translate."""
    wanted: dict[Path, list[str]] = {}
    for schema in sorted((folder / "forms").glob("*-schema.json")):
        ui = schema.with_name(schema.name.replace("-schema.json", "-uischema.json"))
        documents = [json.loads(schema.read_text(encoding="utf-8"))]
        if ui.exists():
            documents.append(json.loads(ui.read_text(encoding="utf-8")))
        wanted[schema.with_name(form_table_name(schema.name))] = form_texts(*documents)
    for diagram in sorted(folder.glob("*.bpmn")):
        wanted[folder / diagram_table_name(diagram.name)] = diagram_texts(diagram)
    return wanted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en")
    parser.add_argument("--fill", nargs=2, metavar=("SOURCE", "TRANSLATION"))
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when an entry is missing")
    args = parser.parse_args()
    known: dict[str, str] = {}
    if args.fill:
        source = Path(args.fill[0]).read_text(encoding="utf-8").splitlines()
        target = Path(args.fill[1]).read_text(encoding="utf-8").splitlines()
        if len(source) != len(target):
            parser.error("the two files must have the same number of lines")
        known = {s.replace("\\n", "\n"): t for s, t in zip(source, target, strict=True) if t.strip()}
    empty = 0
    for path, texts in tables().items():
        table = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        entries = table.setdefault(args.language, {})
        for text in texts:
            if not entries.get(text):
                entries[text] = known.get(text, "")
        if (not texts and not path.exists()) or args.check:
            pass
        else:
            path.write_text(json.dumps(table, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        missing = [t for t in texts if not entries[t]]
        empty += len(missing)
        for text in missing:
            print(f"{path.relative_to(PROCESSES.parent)}: {text}")
    return 1 if empty else 0


if __name__ == "__main__":
    sys.exit(main())

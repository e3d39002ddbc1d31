"""Deploying diagrams: validation, content-hash versioning, and the parsed-spec cache."""

from __future__ import annotations

import hashlib
import json
import pickle
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam

from ..extensions import db
from ..models import Definition
from . import plain_sql
from .errors import Conflict, DefinitionInvalid, NotFound
from .parser import AftersalesBpmnParser, is_bpmn_file, load_spec, parse_definition, unmapped_lanes
from .serialization import canonical_json
from .translations import diagram_table_name, form_table_name

# The parsed spec of each version, frozen. A spec is not immutable (an event subprocess
# rewires its process spec the first time it fires; loop children are linked to their loop
# spec as they run), so no spec object is ever shared: each workflow gets its own copy of a
# spec restored the way SpiffWorkflow restores a serialized one (which also links loop and
# multi-instance children to their loop), never run. The copy is a pickle of that restored,
# untouched spec: unpickling costs a third of restoring from SpiffWorkflow's dict form (the
# bytes are made in this process from our own objects and never stored or read elsewhere).
_spec_cache: dict[tuple[int, str], bytes] = {}
_info_cache: dict[tuple[str, int], DefinitionInfo] = {}
# (database, key) -> the id `latest` last found for the key: only a guess, which the start
# on PostgreSQL confirms in its own INSERT (runtime._start_statement) instead of a SELECT first
_latest_guess: dict[tuple[str, str], int] = {}


@dataclass(frozen=True)
class DefinitionInfo:
    """What commands read of a deployed version. Versions never change after deploy, so this
    is read once per process; `verify` still re-checks the stored rows against their hash."""

    id: int
    key: str
    version: int
    content_hash: str
    meta: dict
    forms: dict
    meta_hash: str = ""


def clear_caches(*, specs: bool = False) -> None:
    """Forget cached definitions; create_app calls it, as a process may be pointed at a
    database whose ids mean something else (the tests reset one database per test).
    `specs` also forgets the parsed specs (keyed by content hash, so they stay valid
    across databases; tests that act as a fresh process clear them too)."""
    _info_cache.clear()
    _latest_guess.clear()
    if specs:
        _spec_cache.clear()
    from . import workflow_cache

    workflow_cache.clear()


_scopes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def database_scope() -> str:
    """Caches are per database: one process may serve several (tests do). Remembered per
    engine: rendering the URL is asked several times in every command."""
    engine = db.engine
    scope = _scopes.get(engine)
    if scope is None:
        scope = _scopes[engine] = str(engine.url)
    return scope


def info(definition_id: int) -> DefinitionInfo:
    cache_key = (database_scope(), definition_id)
    cached = _info_cache.get(cache_key)
    if cached is None:
        row = db.session.get(Definition, definition_id)
        if row is None:
            raise NotFound(f"no definition {definition_id}")
        cached = DefinitionInfo(row.id, row.key, row.version, row.content_hash, row.meta, row.forms, row.meta_hash)
        _info_cache[cache_key] = cached
    return cached


def content_hash(files: dict[str, str], forms: dict[str, object], lane_mapping: dict | None = None) -> str:
    """What a version is: its files, its forms and, when the process owner mapped lanes to
    roles at deploy (meta["lane_mapping"]), that mapping, since it decides who works on what."""
    content: dict = {"files": files, "forms": forms}
    if lane_mapping:
        content["lane_mapping"] = lane_mapping
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def stored_content_hash(row) -> str:
    """The content hash recomputed from a stored version (to compare with the one it carries)."""
    return content_hash(row.files, row.forms, (row.meta or {}).get("lane_mapping"))


def meta_hash(meta: dict) -> str:
    """sha256 of the metadata as the database gives it back (JSON round trip first, so a
    tuple or an integer key hashes as it will be read)."""
    return hashlib.sha256(canonical_json(json.loads(canonical_json(meta))).encode()).hexdigest()


def _split_uploads(uploads: dict[str, bytes]) -> tuple[dict, dict, dict]:
    bpmn, dmn, forms, problems = {}, {}, {}, {}
    for filename, content in uploads.items():
        name = Path(filename).name
        suffix = Path(name).suffix.lower()
        if is_bpmn_file(name):
            bpmn[name] = content
        elif suffix == ".dmn":
            dmn[name] = content
        elif suffix == ".json":
            try:
                forms[name] = json.loads(content)
            except (ValueError, UnicodeDecodeError) as err:
                problems[name] = f"not valid JSON: {err}"
        else:
            problems[name] = "only .bpmn (.bpmn20.xml), .dmn and .json files can be deployed"
    if problems:
        raise DefinitionInvalid("; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
    return bpmn, dmn, forms


def _as_text(files: dict[str, bytes]) -> dict[str, str]:
    try:
        return {name: content.decode("utf-8") for name, content in files.items()}
    except UnicodeDecodeError as err:
        raise DefinitionInvalid(f"files must be UTF-8: {err}", {"files": "must be UTF-8"}) from None


@dataclass
class DeployReport:
    """What a deploy did, for the answer: a new key, a new version of an existing key (and
    whether it replaced another file's diagram under that key), or nothing new."""

    definition: Definition
    created: bool
    outcome: str  # new_key | new_version | unchanged
    file: str
    replaced_file: str | None
    unmapped_lanes: list[dict]

    @property
    def summary(self) -> str:
        d = self.definition
        if self.outcome == "new_key":
            return f"new key {d.key} (version {d.version}) from file {self.file}"
        if self.outcome == "new_version":
            replaced = f", replacing the diagram of file {self.replaced_file}" if self.replaced_file else ""
            return f"new version {d.version} of existing key {d.key} from file {self.file}{replaced}"
        return f"unchanged: version {d.version} of key {d.key} already has this content (file {self.file})"

    def as_json(self) -> dict:
        d = self.definition
        return {
            "key": d.key,
            "version": d.version,
            "content_hash": d.content_hash,
            "created": self.created,
            "outcome": self.outcome,
            "new_key": self.outcome == "new_key",
            "file": self.file,
            "replaced_file": self.replaced_file,
            "summary": self.summary,
            "lanes": {
                lane_id: {"name": (d.meta.get("lanes") or {}).get(lane_id), "role": role}
                for lane_id, role in (d.meta.get("lane_roles") or {}).items()
            },
            "unmapped_lanes": self.unmapped_lanes,
        }


def main_file(definition: Definition) -> str:
    """The file that holds the key's process (older versions did not record it)."""
    recorded = (definition.meta or {}).get("main_file")
    if recorded:
        return recorded
    key = (definition.meta or {}).get("process_id", definition.key)
    names = [name for name in definition.files if is_bpmn_file(name)]
    return next((n for n in names if f'id="{key}"' in definition.files[n]), names[0] if names else "")


def deploy(
    uploads: dict[str, bytes],
    *,
    actor: str,
    now: datetime,
    known_operators: set[str] | None = None,
    replace: bool = False,
    lane_roles: dict[str, str] | None = None,
) -> tuple[Definition, bool]:
    """Store a new version unless the same content is already deployed under the key.

    Returns (definition, created). Nothing is stored when validation fails."""
    report = deploy_report(
        uploads, actor=actor, now=now, known_operators=known_operators, replace=replace, lane_roles=lane_roles
    )
    return report.definition, report.created


def deploy_report(
    uploads: dict[str, bytes],
    *,
    actor: str,
    now: datetime,
    known_operators: set[str] | None = None,
    replace: bool = False,
    lane_roles: dict[str, str] | None = None,
) -> DeployReport:
    """Deploy and say what happened. A key belongs to the file its diagram came from: a
    diagram from another file with the same process id is a Conflict unless `replace`."""
    bpmn, dmn, forms = _split_uploads(uploads)
    parsed = parse_definition(bpmn, dmn, forms, known_operators, lane_roles=lane_roles)
    files = {**_as_text(bpmn), **_as_text(dmn)}
    digest = content_hash(files, forms, parsed.meta.get("lane_mapping"))
    file = parsed.meta["main_file"]
    existing = db.session.scalar(
        db.select(Definition).where(Definition.key == parsed.key, Definition.content_hash == digest)
    )
    if existing is not None:
        return DeployReport(existing, False, "unchanged", file, None, unmapped_lanes(existing.meta))
    latest_row = db.session.scalar(
        db.select(Definition).where(Definition.key == parsed.key).order_by(Definition.version.desc()).limit(1)
    )
    replaced = None
    if latest_row is not None and (owner := main_file(latest_row)) != file:
        if not replace:
            raise Conflict(
                f"process id {parsed.key} already belongs to file {owner} (version {latest_row.version}); "
                f"deploying {file} would make it version {latest_row.version + 1} of that process. "
                "Send replace=true to do so, or give the process another id.",
                {"replace": f"key {parsed.key} belongs to {owner}", "file": file},
            )
        replaced = owner
    definition = Definition(
        key=parsed.key,
        version=(latest_row.version if latest_row else 0) + 1,
        name=parsed.name,
        files=files,
        forms=forms,
        meta=parsed.meta,
        content_hash=digest,
        meta_hash=meta_hash(parsed.meta),
        deployed_at=now,
        deployed_by=actor,
    )
    db.session.add(definition)
    db.session.flush()
    _spec_cache[(definition.id, digest)] = _freeze(parsed.spec, parsed.subprocess_specs)
    outcome = "new_version" if latest_row is not None else "new_key"
    return DeployReport(definition, True, outcome, file, replaced, unmapped_lanes(parsed.meta))


def version_of(key: str, version: int) -> DefinitionInfo:
    """One named version of a key (a start may ask for an older one)."""
    definition_id = db.session.scalar(
        db.select(Definition.id).where(Definition.key == key, Definition.version == version)
    )
    if definition_id is None:
        if db.session.scalar(db.select(Definition.id).where(Definition.key == key).limit(1)) is None:
            raise NotFound(f"no process deployed under key {key!r}", {"process_key": "unknown process"})
        raise NotFound(f"process {key!r} has no version {version}", {"version": f"unknown version {version}"})
    return info(definition_id)


_LATEST = plain_sql.Statement(
    db.select(Definition.id).where(Definition.key == bindparam("key")).order_by(Definition.version.desc()).limit(1)
)


def latest(key: str) -> DefinitionInfo:
    # every start asks: on the driver (plain_sql), read fresh, as another process may deploy
    found = plain_sql.execute(db.session, _LATEST, {"key": key}).fetchone()
    definition_id = found[0] if found else None
    if definition_id is None:
        raise NotFound(f"no process deployed under key {key!r}", {"process_key": "unknown process"})
    _latest_guess[(database_scope(), key)] = definition_id
    return info(definition_id)


def latest_guessed(key: str) -> DefinitionInfo | None:
    """The version `latest` last found for the key in this process, unconfirmed (another
    process may have deployed since): for a caller that checks it in its own statement."""
    definition_id = _latest_guess.get((database_scope(), key))
    return None if definition_id is None else info(definition_id)


def guess_latest(key: str, definition_id: int) -> None:
    """A statement confirmed that `definition_id` is the latest version of the key."""
    _latest_guess[(database_scope(), key)] = definition_id


def spec_for(definition: Definition | DefinitionInfo) -> tuple[object, dict]:
    """A spec of the version that belongs to the caller alone: parsed once per process,
    kept frozen, copied anew for every workflow (an 8-step process: unpickling 0.17 ms,
    restoring from SpiffWorkflow's serialized dict 0.48 ms, a deepcopy of the objects 0.98 ms)."""
    cache_key = (definition.id, definition.content_hash)
    frozen = _spec_cache.get(cache_key)
    if frozen is None:
        definition = db.session.get(Definition, definition.id)
        parser = AftersalesBpmnParser()
        from .xml_safety import parse_xml

        for filename, text in definition.files.items():
            root = parse_xml(text, filename).getroot()
            if filename.endswith(".dmn"):
                parser.add_dmn_xml(root, filename=filename)
        for filename, text in definition.files.items():
            if is_bpmn_file(filename):
                parser.add_bpmn_xml(parse_xml(text, filename).getroot(), filename=filename)
        frozen = _freeze(*load_spec(parser, definition.meta["process_id"], definition.meta.get("collaboration")))
        _spec_cache[cache_key] = frozen
    return _thaw(frozen)


def _freeze(spec, subprocess_specs: dict) -> bytes:
    """A pickle of the spec as SpiffWorkflow's serializer restores it (not of the parsed
    objects: the restore links loop children and is what every workflow has always run on)."""
    from .serialization import spec_from_bytes, spec_to_bytes

    return pickle.dumps(spec_from_bytes(spec_to_bytes(spec, subprocess_specs)), protocol=pickle.HIGHEST_PROTOCOL)


def _thaw(frozen: bytes) -> tuple[object, dict]:
    return pickle.loads(frozen)  # noqa: S301 - our own bytes, made in this process (see _spec_cache)


def deploy_directory(directory: str | Path, *, actor: str, now: datetime, known_operators=None, replace: bool = False):
    """Deploy every .bpmn (and .bpmn20.xml) of a folder with the .dmn files and forms beside it."""
    directory = Path(directory)
    shared: dict[str, bytes] = {p.name: p.read_bytes() for p in directory.glob("*.dmn")}
    shared.update({p.name: p.read_bytes() for p in (directory / "forms").glob("*.json")})
    results = []
    for bpmn in sorted(p for p in directory.iterdir() if p.is_file() and is_bpmn_file(p.name)):
        uploads = {bpmn.name: bpmn.read_bytes(), **_referenced(bpmn, shared)}
        names_table = directory / diagram_table_name(bpmn.name)
        if names_table.is_file():
            uploads[names_table.name] = names_table.read_bytes()
        results.append(deploy(uploads, actor=actor, now=now, known_operators=known_operators, replace=replace))
    return results


def _referenced(bpmn: Path, shared: dict[str, bytes]) -> dict[str, bytes]:
    """Only the forms and decisions a diagram names (with the forms' translation tables), so
    its content hash is its own."""
    text = bpmn.read_text(encoding="utf-8")
    picked = {}
    for name, content in shared.items():
        if name.endswith(".json") and f'"{name}"' in text:
            picked[name] = content
            if (table := form_table_name(name)) in shared:
                picked[table] = shared[table]
        elif name.endswith(".dmn") and any(f">{d}<" in text for d in _decision_ids(content)):
            picked[name] = content
    return picked


def _decision_ids(dmn: bytes) -> list[str]:
    from .xml_safety import parse_xml

    root = parse_xml(dmn, "decision.dmn").getroot()
    return [node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.tag.endswith("}decision")]

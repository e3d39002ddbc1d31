"""Issue 11: signed checkpoints. The five rewrites plain verification missed, each done the way
someone with write access to the database would do it (hashes recomputed, heads fixed), are
detected against a digest exported before them and named; a digest whose signature does not
match is refused. Checked through `flask audit verify --against`, the auditors' page and
docs/verify_history.py (a separate process)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from tests.complaint_driver import REGISTER
from tests.test_ui_support import signed_in
from webapp.audit import checkpoints
from webapp.engine import definitions, history, replay
from webapp.extensions import db
from webapp.models import Definition, HistoryEvent, Instance

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def record(app, users, deployed_complaints, run_worker):
    """Two complaints with a few events each, and a digest exported from a checkpoint."""
    ids = []
    for _ in range(2):
        r = users["agent"].post("/api/process-instances", {"process_key": "complaint_handling", "data": REGISTER})
        assert r.status_code == 201
        ids.append(r.get_json()["id"])
        run_worker()
        task = users["handler"].get(f"/api/tasks?instance_id={ids[-1]}").get_json()[0]
        assert users["handler"].post(f"/api/tasks/{task['id']}/claim").status_code == 200
    db.session.expire_all()
    return {"ids": ids}


def _export_digest(app, tmp_path) -> Path:
    path = tmp_path / "digest.json"
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint", "--export", str(path)])
    assert result.exit_code == 0, result.output
    return path


def _cli_verify(app, digest: Path):
    db.session.remove()
    return app.test_cli_runner().invoke(args=["audit", "verify", "--against", str(digest)])


def _rehash_from(instance_id: int, seq: int) -> None:
    """What a forger does after editing event `seq`: recompute every hash from there and the head."""
    events = history.events_of(instance_id)
    prev = events[seq - 2].hash if seq > 1 else history.GENESIS
    for event in events[seq - 1:]:
        event.prev_hash = prev
        event.hash = history.chain_hash(prev, event)
        prev = event.hash
    instance = db.session.get(Instance, instance_id)
    db.session.execute(text("UPDATE instances SET last_hash = :h WHERE id = :i"), {"h": prev, "i": instance_id})
    assert instance is not None


def tamper_actor(record):
    """(a) an event's actor changed, the chain rehashed"""
    target = record["ids"][0]
    event = db.session.scalar(db.select(HistoryEvent).where(HistoryEvent.instance_id == target, HistoryEvent.seq == 2))
    event.actor = "someone_else"
    db.session.flush()
    _rehash_from(target, 2)
    return target, ["history rewritten"]


def tamper_drop_last(record):
    """(b) the last event dropped, the head (and the snapshot) fixed"""
    target = record["ids"][0]
    instance = db.session.get(Instance, target)
    last = db.session.scalar(db.select(HistoryEvent).where(HistoryEvent.instance_id == target,
                                                           HistoryEvent.seq == instance.last_seq))
    db.session.delete(last)
    db.session.flush()
    previous = history.events_of(target)[-1]
    state = replay.replay(target)
    db.session.execute(text("UPDATE instances SET last_seq = :s, last_hash = :h, snapshot = :snap, snapshot_pieces = 0 "
                            "WHERE id = :i"), {"s": previous.seq, "h": previous.hash, "snap": state.snapshot, "i": target})
    db.session.execute(text("DELETE FROM snapshot_pieces WHERE instance_id = :i"), {"i": target})
    return target, ["events deleted"]


def tamper_delete_instance(record):
    """(c) a whole instance deleted, with everything that points at it"""
    target = record["ids"][1]
    inspector = inspect(db.session.connection())
    for table in inspector.get_table_names():
        if table != "instances" and any(c["name"] == "instance_id" for c in inspector.get_columns(table)):
            db.session.execute(text(f"DELETE FROM {table} WHERE instance_id = :i"), {"i": target})
    db.session.execute(text("DELETE FROM instances WHERE id = :i"), {"i": target})
    return None, ["instance deleted"]


def tamper_definition_files(record):
    """(d) a definition's files edited and a matching new content_hash written"""
    row = db.session.get(Definition, db.session.get(Instance, record["ids"][0]).definition_id)
    files = dict(row.files)
    name = next(n for n in files if n.endswith(".bpmn"))
    files[name] = files[name].replace("</bpmn:definitions>", "<!-- edited --></bpmn:definitions>")
    row.files = files
    row.content_hash = definitions.content_hash(files, row.forms)
    return record["ids"][0], ["definition files changed"]


def tamper_definition_meta(record):
    """(e) definitions.meta edited (the start lane given to another role), its meta hash rewritten too"""
    row = db.session.get(Definition, db.session.get(Instance, record["ids"][0]).definition_id)
    meta = dict(row.meta)
    assert meta.get("start_role") == "customer_service"
    meta["start_role"] = "technician"
    row.meta = meta
    row.meta_hash = definitions.meta_hash(meta)
    return record["ids"][0], ["definition metadata changed"]


TAMPERS = [tamper_actor, tamper_drop_last, tamper_delete_instance, tamper_definition_files, tamper_definition_meta]


@pytest.mark.tampers
@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
def test_rewrites_are_detected_against_an_earlier_digest(app, record, tmp_path, tamper):
    digest = _export_digest(app, tmp_path)
    clean = _cli_verify(app, digest)
    assert clean.exit_code == 0 and "as signed" in clean.output, clean.output

    target, expected = tamper(record)
    db.session.commit()
    db.session.expire_all()
    definitions.clear_caches()

    result = _cli_verify(app, digest)
    assert result.exit_code == 1, result.output
    for what in expected:
        assert what in result.output, result.output
    found = checkpoints.verify_against(json.loads(digest.read_text(encoding="utf-8")))
    assert [p["what"] for p in found["problems"]] == expected

    # the auditors' page says the same
    auditor = signed_in(app, "auditor")
    page = auditor.client.post("/audit/checkpoints/verify", data={
        "digest": (io.BytesIO(digest.read_bytes()), "digest.json"), "csrf_token": auditor.token},
        content_type="multipart/form-data")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-verified="false"' in body and expected[0] in body


@pytest.mark.tampers
def test_plain_verify_compares_definitions_with_the_start_event(app, record):
    """(d) and (e) without any digest: the start event recorded the version's hashes."""
    tamper_definition_files(record)
    db.session.commit()
    result = replay.verify(record["ids"][0])
    assert not result["verified"] and result["first_bad_seq"] == 0 and "recorded in the history" in result["reason"]
    db.session.rollback()


@pytest.mark.tampers
def test_plain_verify_catches_edited_metadata(app, record):
    row = db.session.get(Definition, db.session.get(Instance, record["ids"][0]).definition_id)
    row.meta = {**row.meta, "start_role": "technician"}  # the meta hash on the row left as it was
    db.session.commit()
    result = replay.verify(record["ids"][0])
    assert not result["verified"] and "metadata" in result["reason"]
    db.session.rollback()
    row = db.session.get(Definition, row.id)
    row.meta_hash = definitions.meta_hash(row.meta)  # the row's meta hash rewritten too: the start event still knows
    db.session.commit()
    result = replay.verify(record["ids"][0])
    assert not result["verified"] and "metadata hash differs from the one recorded" in result["reason"]
    db.session.rollback()


def test_a_digest_with_a_wrong_signature_is_refused(app, record, tmp_path):
    digest = _export_digest(app, tmp_path)
    document = json.loads(digest.read_text(encoding="utf-8"))

    edited = json.loads(json.dumps(document))
    edited["checkpoint"]["instance_count"] = 99  # the content changed, the digest and signature kept
    edited_path = tmp_path / "edited.json"
    edited_path.write_text(json.dumps(edited), encoding="utf-8")
    result = _cli_verify(app, edited_path)
    assert result.exit_code == 2 and "digest refused" in result.output and "edited" in result.output

    forged = json.loads(json.dumps(document))
    forged["checkpoint"]["instance_count"] = 99  # a forger recomputes the digest but cannot sign
    forged["digest"] = history.sha256_hex(json.dumps(forged["checkpoint"], sort_keys=True, separators=(",", ":"),
                                                     ensure_ascii=False))
    forged_path = tmp_path / "forged.json"
    forged_path.write_text(json.dumps(forged), encoding="utf-8")
    result = _cli_verify(app, forged_path)
    assert result.exit_code == 2 and "signature does not match" in result.output

    auditor = signed_in(app, "auditor")
    page = auditor.client.post("/audit/checkpoints/verify", data={
        "digest": (io.BytesIO(forged_path.read_bytes()), "digest.json"), "csrf_token": auditor.token},
        content_type="multipart/form-data")
    assert page.status_code == 400 and "signature does not match" in page.get_data(as_text=True)


def test_the_page_signs_and_exports_checkpoints(app, record):
    auditor = signed_in(app, "auditor")
    auditor.get("/audit/checkpoints")
    assert auditor.post("/audit/checkpoints", {}).status_code == 302
    page = auditor.get("/audit/checkpoints").get_data(as_text=True)
    assert "digest.json" in page
    from webapp.models import Checkpoint

    row = db.session.scalar(db.select(Checkpoint))
    assert row.created_by == "auditor"
    document = auditor.client.get(f"/audit/checkpoints/{row.id}/digest.json").get_json()
    assert document["digest"] == row.digest and len(document["checkpoint"]["instances"]) == 2
    pem = auditor.client.get("/audit/checkpoints/public-key.pem").data
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    key = Path(app.config["CHECKPOINT_KEY_PATH"])
    assert key.stat().st_mode & 0o777 == 0o600 and b"PRIVATE" in key.read_bytes()
    assert b"PRIVATE" not in json.dumps(document).encode()
    assert signed_in(app, "agent").client.post("/audit/checkpoints").status_code in (400, 403)  # auditors only


def test_the_worker_signs_a_checkpoint_when_one_is_due(app, record, manual_clock):
    from webapp.models import Checkpoint
    from workers.loop import WorkerSettings, checkpoint_if_due

    settings = WorkerSettings(checkpoint_minutes=30)
    assert checkpoint_if_due(settings) and not checkpoint_if_due(settings)
    manual_clock.advance(minutes=31)
    assert checkpoint_if_due(settings)
    assert db.session.scalar(db.select(db.func.count(Checkpoint.id))) == 2
    assert not checkpoint_if_due(WorkerSettings(checkpoint_minutes=0))


@pytest.mark.tampers
def test_verify_history_script_checks_exports_against_a_digest(app, record, tmp_path):
    """docs/verify_history.py in its own process: the digest's signature with the public key,
    then a case export against the digest's head for that case."""
    digest = _export_digest(app, tmp_path)
    key = tmp_path / "public.pem"
    key.write_bytes(app.test_cli_runner().invoke(args=["audit", "public-key"]).output.encode())
    auditor = signed_in(app, "auditor")
    export = tmp_path / "case.json"
    export.write_bytes(auditor.client.get(f"/audit/cases/{record['ids'][0]}/export.json").data)

    def run(*args):
        return subprocess.run([sys.executable, str(ROOT / "docs" / "verify_history.py"), *args],
                              capture_output=True, text=True, timeout=60)

    ok = run("--against", str(digest), "--public-key", str(key), str(export))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "signature valid" in ok.stdout

    tamper_actor(record)
    db.session.commit()
    db.session.expire_all()
    rewritten = tmp_path / "rewritten.json"
    rewritten.write_bytes(auditor.client.get(f"/audit/cases/{record['ids'][0]}/export.json").data)
    assert run(str(rewritten)).returncode == 0  # the chain alone holds: it was recomputed
    bad = run("--against", str(digest), "--public-key", str(key), str(rewritten))
    assert bad.returncode == 1 and "differs from the checkpoint" in bad.stdout, bad.stdout

    other = tmp_path / "other.pem"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    refused = run("--against", str(digest), "--public-key", str(other), str(export))
    assert refused.returncode == 2 and "signature does not match" in refused.stdout

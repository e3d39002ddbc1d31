#!/usr/bin/env python3
"""Check an exported case history (or system log) with nothing but the Python standard library.

    python3 verify_history.py TS-20260302-0001-history.json
    python3 verify_history.py system-log.json

A case export ("format": "aftersales-history/1") is checked for:
  1. the process definition: sha256 of canonical_json({"files": ..., "forms": ...}) equals its
     content_hash, and that is the version the history says the case ran on (the start event
     records it; an instance_migrated event moves it on);
  2. the chain: events numbered 1..n, each event's prev_hash is the previous event's hash (64
     zeros for the first), and each hash is sha256(prev_hash + canonical_json(body)) with
     body = {instance_id, seq, at, actor, type, bpmn_id, task_id, payload, state_hash};
  3. the head: the last event's seq and hash are the instance's last_seq and last_hash.
A system-log export ("format": "aftersales-system-log/1") is checked the same way with
body = {seq, at, actor, type, subject, payload} and its head.

What this script cannot check is the replay (that re-running the events gives the state
hashes they recorded); the application does that: `flask --app webapp audit verify`.
Exit status 0 when everything holds, 1 otherwise; the first bad row is named.
"""

import hashlib
import json
import sys

GENESIS = "0" * 64
CASE_BODY = ("instance_id", "seq", "at", "actor", "type", "bpmn_id", "task_id", "payload", "state_hash")
LOG_BODY = ("seq", "at", "actor", "type", "subject", "payload")


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_chain(events, fields, noun):
    """Returns (last_hash, problem); problem is None or (seq, reason)."""
    prev = GENESIS
    for expected, event in enumerate(events, start=1):
        if event.get("seq") != expected:
            return prev, (expected, f"{noun} {expected} is missing (found {event.get('seq')} in its place)")
        if "payload" not in event:
            return prev, (expected, "payload is not valid JSON")
        if event.get("prev_hash") != prev:
            return prev, (expected, "prev_hash does not match the previous hash")
        body = {name: event.get(name) for name in fields}
        if sha256_hex(prev + canonical_json(body)) != event.get("hash"):
            return prev, (expected, f"hash does not match the {noun}'s content")
        prev = event["hash"]
    return prev, None


def check_case(document):
    definition = document["definition"]
    instance = document["instance"]
    events = document["events"]
    digest = sha256_hex(canonical_json({"files": definition["files"], "forms": definition["forms"]}))
    if digest != definition["content_hash"]:
        return 0, "the definition's files do not match its content hash"
    ran_on = None
    for event in events:
        payload = event.get("payload") or {}
        if event.get("type") == "instance_started":
            ran_on = (payload.get("definition") or {}).get("content_hash")
        elif event.get("type") == "instance_migrated":
            ran_on = (payload.get("to") or {}).get("content_hash")
    if ran_on is not None and ran_on != definition["content_hash"]:
        return 0, "the history names another version of the process than the exported definition"
    if any(e.get("instance_id") != instance["id"] for e in events):
        seq = next(e.get("seq") for e in events if e.get("instance_id") != instance["id"])
        return seq, "event belongs to another instance"
    last, problem = check_chain(events, CASE_BODY, "event")
    if problem:
        return problem
    if len(events) != instance["last_seq"] or last != instance["last_hash"]:
        return len(events), "the instance's chain head does not match its last event (events missing)"
    return None


def check_log(document):
    events = document["events"]
    head = document["head"]
    last, problem = check_chain(events, LOG_BODY, "entry")
    if problem:
        return problem
    if len(events) < head["last_seq"]:
        return len(events) + 1, f"entries {len(events) + 1} to {head['last_seq']} are missing"
    at_head = events[head["last_seq"] - 1]["hash"] if head["last_seq"] else ""
    if at_head != head["last_hash"]:
        return head["last_seq"], "the head does not match its entry"
    return None


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0])
        print("usage: python3 verify_history.py EXPORT.json")
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        document = json.load(handle)
    kind = document.get("format", "")
    if kind.startswith("aftersales-history/"):
        problem, noun = check_case(document), "event"
        what = f"case {document['instance']['business_key']}"
    elif kind.startswith("aftersales-system-log/"):
        problem, noun = check_log(document), "entry"
        what = "system log"
    else:
        print(f"unknown export format {kind!r}")
        return 2
    if problem:
        seq, reason = problem
        where = "the process definition" if seq == 0 else f"first bad {noun} {seq}"
        print(f"FAILED {what}: {where}: {reason}")
        return 1
    events = document["events"]
    print(f"OK {what}: {len(events)} {noun}s, chain head {events[-1]['hash'] if events else '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

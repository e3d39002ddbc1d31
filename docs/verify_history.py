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

With a signed checkpoint kept from earlier (digest.json from the auditors' checkpoint page or
`flask audit export-checkpoint`) and the system's public key (`flask audit public-key`):

    python3 verify_history.py --against digest.json --public-key checkpoint.pem EXPORT.json ...

the digest's signature is checked first (Ed25519: this needs the `cryptography` package, the
only thing beyond the standard library; without it the script says so and stops), then each
export against it: a case's events up to the checkpoint's count must end in the hash the
checkpoint signed (a history rewritten with its hashes recomputed, or cut short, fails), its
process version must have the content hash signed; the system log's entry at the signed head
must carry the signed hash.

What this script cannot check is the replay (that re-running the events gives the state
hashes they recorded); the application does that: `flask --app webapp audit verify`.
Exit status 0 when everything holds, 1 when something does not (the first bad row is named),
2 for a refused digest or bad usage, 3 when `cryptography` is missing.
"""

import argparse
import base64
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


def load_checkpoint(digest_path, key_path):
    """The signed checkpoint body, or (None, reason) when it is refused."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:
        print("checking a signed checkpoint needs the Python package 'cryptography' (Ed25519 is not in the "
              "standard library): pip install cryptography")
        sys.exit(3)
    with open(digest_path, encoding="utf-8") as handle:
        document = json.load(handle)
    if document.get("format") != "aftersales-checkpoint/1" or not isinstance(document.get("checkpoint"), dict):
        return None, "not a checkpoint digest"
    text = canonical_json(document["checkpoint"])
    if sha256_hex(text) != document.get("digest"):
        return None, "the digest does not match the checkpoint's content: the file was edited"
    with open(key_path, "rb") as handle:
        key = load_pem_public_key(handle.read())
    if not isinstance(key, Ed25519PublicKey):
        return None, "the public key is not an Ed25519 key"
    try:
        key.verify(base64.b64decode(document.get("signature") or ""), text.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return None, "the signature does not match: not signed by the key given"
    return document["checkpoint"], None


def check_case_against(document, checkpoint):
    instance = document["instance"]
    signed = checkpoint["instances"].get(str(instance["id"]))
    if signed is None:
        return None  # started after the checkpoint
    seq = signed["last_seq"]
    events = document["events"]
    if len(events) < seq:
        return len(events) + 1, f"events {len(events) + 1}..{seq} are missing (the checkpoint counted {seq})"
    if seq and events[seq - 1].get("hash") != signed["last_hash"]:
        return seq, f"event {seq}'s hash differs from the checkpoint: events 1..{seq} were rewritten"
    version = checkpoint["definitions"].get(str(document["definition"]["id"]))
    if version is not None and version.get("content_hash") != document["definition"]["content_hash"]:
        return 0, "the process version's content hash differs from the checkpoint"
    return None


def check_log_against(document, checkpoint):
    seq = checkpoint["system_log"]["last_seq"]
    events = document["events"]
    if len(events) < seq:
        return len(events) + 1, f"entries {len(events) + 1}..{seq} are missing (the checkpoint counted {seq})"
    if seq and events[seq - 1].get("hash") != checkpoint["system_log"]["last_hash"]:
        return seq, f"entry {seq}'s hash differs from the checkpoint: entries 1..{seq} were rewritten"
    return None


def check_file(path, checkpoint):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    kind = document.get("format", "")
    if kind.startswith("aftersales-history/"):
        problem, noun = check_case(document), "event"
        if problem is None and checkpoint is not None:
            problem = check_case_against(document, checkpoint)
        what = f"case {document['instance']['business_key']}"
    elif kind.startswith("aftersales-system-log/"):
        problem, noun = check_log(document), "entry"
        if problem is None and checkpoint is not None:
            problem = check_log_against(document, checkpoint)
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
    print(f"OK {what}: {len(events)} {noun}s, chain head {events[-1]['hash'] if events else '-'}"
          + (" (as signed in the checkpoint)" if checkpoint is not None else ""))
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("exports", nargs="*", metavar="EXPORT.json")
    parser.add_argument("--against", metavar="digest.json", help="a signed checkpoint kept from earlier")
    parser.add_argument("--public-key", metavar="key.pem", help="the system's checkpoint public key (PEM)")
    args = parser.parse_args(argv[1:])
    if not args.exports and not args.against:
        parser.print_usage()
        return 2
    checkpoint = None
    if args.against:
        if not args.public_key:
            print("--against needs --public-key (the key inside digest.json proves nothing: anyone can put one there)")
            return 2
        checkpoint, reason = load_checkpoint(args.against, args.public_key)
        if checkpoint is None:
            print(f"REFUSED digest {args.against}: {reason}")
            return 2
        print(f"digest {args.against}: signature valid; checkpoint of {checkpoint.get('at')}, "
              f"{len(checkpoint['instances'])} cases")
    status = 0
    for path in args.exports:
        status = max(status, check_file(path, checkpoint))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))

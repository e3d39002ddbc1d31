"""Issue 18: the Python client example in docs/api.md starts a complaint and works it to the
end against a live server (the code block is read from the document and run as it is)."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from tests.live_server import live_server

DOC = ROOT / "docs" / "api.md"


def _blocks(heading: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_client_example_works_a_complaint_to_the_end(app, users, deployed_complaints, monkeypatch, capsys):
    [code] = _blocks("## A client that works a complaint from start to end")
    monkeypatch.setenv("AFTERSALES_TOKEN", users["admin"].token)
    with live_server(app, worker=True) as base_url:
        monkeypatch.setenv("AFTERSALES_URL", base_url)
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_api_example"})  # noqa: S102 (our own document)
    printed = capsys.readouterr().out
    started = re.search(r"started (\S+)", printed).group(1)
    assert f"closed {started} after" in printed and "history verified" in printed
    instance = users["admin"].get(f"/api/process-instances?business_key={started}").get_json()[0]
    assert instance["status"] == "completed"


def test_the_signature_check_in_the_document_matches_the_sender():
    from webapp.webhooks import signing

    [code] = _blocks("## Webhooks")
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102
    body, timestamp = b'{"event":"case.started"}', "1767225600"
    good = signing.signature("k" * 20, timestamp, body)
    assert namespace["signed_by_us"]("k" * 20, timestamp, body, good)
    assert not namespace["signed_by_us"]("k" * 20, timestamp, body + b" ", good)

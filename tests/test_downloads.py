"""Downloads through a real HTTP server (Werkzeug's, on a socket): a business key with Chinese,
quotes and spaces names the saved file correctly (RFC 6266 `filename*`), never a 500."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from werkzeug.serving import make_server

from tests.complaint_driver import REGISTER
from webapp.extensions import db

BUSINESS_KEY = '投诉-"1" a'


@pytest.fixture
def server(app):
    db.session.remove()  # on SQLite an open session in this thread would hold the write lock
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)


def signed_in(base: str, username: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{base}/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": f"pw-{username}"}).encode()
    assert opener.open(f"{base}/login", data=form, timeout=30).status == 200  # redirected to the inbox
    return opener


def saved_name(disposition: str) -> str:
    """The name a browser saves: filename* (UTF-8, percent-encoded) wins over filename."""
    assert disposition.startswith("attachment;"), disposition
    encoded = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition, re.IGNORECASE)
    if encoded:
        return urllib.parse.unquote(encoded.group(1), encoding="utf-8", errors="strict")
    plain = re.search(r'filename=("(?:[^"\\]|\\.)*"|[^;\s]+)', disposition).group(1)
    return re.sub(r'\\(.)', r"\1", plain[1:-1]) if plain.startswith('"') else plain


def download(opener, url: str) -> tuple[int, str, bytes]:
    with opener.open(url, timeout=60) as response:
        return response.status, response.headers["Content-Disposition"], response.read()


def test_case_exports_with_chinese_quotes_and_spaces_in_the_name(users, deployed_complaints, server):
    started = users["agent"].post("/api/process-instances", {"process_key": "complaint_handling", "data": REGISTER,
                                                              "business_key": BUSINESS_KEY})
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    db.session.remove()
    auditor = signed_in(server, "auditor")

    status, disposition, body = download(auditor, f"{server}/audit/cases/{instance_id}/export.json")
    assert status == 200 and saved_name(disposition) == f"{BUSINESS_KEY}-history.json"
    assert "filename*=UTF-8''%E6%8A%95%E8%AF%89-%221%22%20a-history.json" in disposition
    disposition.encode("latin-1")  # what the header line can carry
    assert json.loads(body)["instance"]["business_key"] == BUSINESS_KEY

    status, disposition, body = download(auditor, f"{server}/audit/cases/{instance_id}/export.csv")
    assert status == 200 and saved_name(disposition) == f"{BUSINESS_KEY}-history.csv"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows and {row["business_key"] for row in rows} == {BUSINESS_KEY}


def test_every_other_download_names_its_file(users, server):
    db.session.remove()
    auditor, manager = signed_in(server, "auditor"), signed_in(server, "manager")
    for opener, path, name in ((auditor, "/audit/system-log/export.json", "system-log.json"),
                               (auditor, "/audit/system-log/export.csv", "system-log.csv"),
                               (auditor, "/audit/deadlines.csv?from=2026-03-01&to=2026-03-31", "deadlines.csv"),
                               (manager, "/dashboard/report.pdf?month=2026-03", "service-report-2026-03.pdf"),
                               (manager, "/dashboard/report.xlsx?month=2026-03", "service-report-2026-03.xlsx")):
        status, disposition, body = download(opener, server + path)
        assert status == 200 and saved_name(disposition) == name, (path, disposition)
        assert body, path

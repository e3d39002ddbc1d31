"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 (a free port) that checks
each POST's signature the way docs/api.md tells integrators to, and can fail on purpose."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from webapp.webhooks import signing


@dataclass
class Received:
    headers: dict
    raw: bytes
    signed_ok: bool

    @property
    def body(self) -> dict:
        return json.loads(self.raw)


@dataclass
class Receiver:
    secret: str
    fail_first: int = 0  # answer 500 to this many POSTs before accepting
    received: list[Received] = field(default_factory=list)  # accepted POSTs, in arrival order
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()}
                ok = signing.verify(receiver.secret, headers.get(signing.TIMESTAMP_HEADER, ""), raw,
                                    headers.get(signing.SIGNATURE_HEADER, ""))
                with receiver.lock:
                    failing = receiver.refused < receiver.fail_first
                    if failing:
                        receiver.refused += 1
                    else:
                        receiver.received.append(Received(headers, raw, ok))
                self.send_response(500 if failing else 204)
                self.end_headers()
                if failing:
                    self.wfile.write(b"receiver down")

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events_of(self, instance_id: int) -> list[str]:
        with self.lock:
            return [r.body["event"] for r in self.received if r.body["instance"]["id"] == instance_id]

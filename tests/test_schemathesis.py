"""Issue 18, acceptance 2: schemathesis (PyPI) runs against a live test server over every
operation of /api/openapi.json with a fixed budget: no 5xx, every response matches its
documented schema (status code, content type, headers, body).

The budget (examples per operation) is small so that `make test` stays quick on 2 cores;
SCHEMATHESIS_EXAMPLES raises it for a longer hunt. Hypothesis' database is off, so each run
starts from the same budget (failures print the reproducing request)."""

from __future__ import annotations

import logging
import os
import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.complaint_driver import REGISTER
from tests.conftest import deploy_files, process_files
from tests.live_server import live_server

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _fuzz(operation, base_url: str, headers: dict, calls: dict):
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        calls[operation.label] = calls.get(operation.label, 0) + 1
        response = case.call(base_url=base_url, headers=headers)
        case.validate_response(response, checks=CHECKS)

    return run


def test_every_operation_answers_as_documented(app, users, deployed_complaints, run_worker):
    admin = users["admin"]
    started = admin.post("/api/process-instances", {"process_key": "complaint_handling", "data": REGISTER})
    assert started.status_code == 201
    run_worker()
    assert deploy_files(users["owner"], process_files("satisfaction_survey")).status_code in (200, 201)
    headers = {"Authorization": f"Bearer {admin.token}"}
    document = app.test_client().get("/api/openapi.json").get_json()
    failures: list[str] = []
    calls: dict[str, int] = {}
    timings: dict[str, float] = {}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    with live_server(app) as base_url:
        schema = schemathesis.openapi.from_dict(document)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == sum(len(methods) for methods in document["paths"].values())
        for operation in operations:
            began = time.monotonic()
            try:
                _fuzz(operation, base_url, headers, calls)()
            except (Exception, BaseExceptionGroup) as err:  # collect every operation's findings, then fail once
                failures.append(f"{operation.label}: {type(err).__name__}: {str(err)[:2000]}")
            timings[operation.label] = round(time.monotonic() - began, 1)
    print("seconds per operation:", timings)
    assert failures == [], "\n\n".join(failures)
    assert sorted(calls) == sorted(op.label for op in operations)  # every operation was called
    assert sum(calls.values()) >= len(operations) * 2

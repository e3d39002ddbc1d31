"""Fixtures shared by the procedure tests."""

from __future__ import annotations

import pytest

from tests.fixtures.service_api import Service, fast_passwords


@pytest.fixture
def repair_service(make_client, run_worker, manual_clock, monkeypatch):
    """The repair chain deployed (repair, claim, parts return; follow-up and survey as stand-ins),
    every case verified at the end."""
    fast_passwords(monkeypatch)
    service = Service(make_client, run_worker, manual_clock)
    for key in ("repair_dispatch", "warranty_claim", "parts_return"):
        service.deploy(key)
    for key in ("customer_followup", "satisfaction_survey"):
        service.deploy(key, standin_ok=True)
    yield service
    service.verify_all()

"""客户档案 page: the customer and vehicle file looked up by plate, VIN or phone at intake and
on the hotline, with the vehicle's repairs, claims, complaints, follow-ups and calls on one
page, and links that open the intake or hotline form pre-filled from it."""

from __future__ import annotations

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..extensions import db
from ..records.customer_file import FILE_READERS, customer_file, find_customer, for_viewer, search_keys_present
from . import bp
from .common import roles

# The start forms a file opens pre-filled (intake, hotline call, complaint, return).
PREFILL_PROCESSES = ("repair_dispatch", "hotline_call", "complaint_handling", "return_exchange")


def may_read_files() -> bool:
    return bool(roles() & (set(FILE_READERS) | {"admin"}))


@bp.get("/customers")
@login_required
def customer_files() -> ResponseReturnValue:
    if not may_read_files():
        abort(403)
    plate, vin, phone = (request.args.get(k, "").strip() for k in ("plate", "vin", "phone"))
    searched = search_keys_present(plate, vin, phone)
    file = None
    if searched:
        customer = find_customer(db.session, plate=plate, vin=vin, phone=phone)
        if customer is not None:
            file = for_viewer(customer_file(db.session, customer), roles(), current_user.username, "customer file page")
            db.session.commit()  # the auditor's logged view
    return render_template("customer_file.html", plate=plate, vin=vin, phone=phone, searched=searched, file=file,
                           prefill_processes=PREFILL_PROCESSES)

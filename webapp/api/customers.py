"""GET /api/customer-files: the customer and vehicle file 客户档案 by plate, VIN or phone."""

from __future__ import annotations

from flask import g, jsonify, request

from ..extensions import db
from ..records.customer_file import FILE_READERS, customer_file, find_customer, for_viewer, search_keys_present
from . import bp
from .auth import require_role, token_required
from .errors import error_response

# the staff who deal with customers (and the auditor, who reads)
READERS = FILE_READERS


@bp.get("/customer-files")
@token_required
@require_role(*READERS)
def get_customer_file():
    plate, vin, phone = (request.args.get(k, "") for k in ("plate", "vin", "phone"))
    if not search_keys_present(plate, vin, phone):
        return error_response(400, "give plate, vin or phone", {"plate": "one of plate, vin, phone is required"})
    customer = find_customer(db.session, plate=plate, vin=vin, phone=phone)
    if customer is None:
        return error_response(404, "no customer file found", {"query": "no match"})
    file = for_viewer(customer_file(db.session, customer), g.api_user.role_codes, g.api_user.username,
                      "API customer file")
    db.session.commit()  # the auditor's logged view
    return jsonify(file)

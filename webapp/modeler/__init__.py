"""The process owners' side: the process list, the modeler (bpmn-js + our properties panel,
dmn-js for decision tables), validate, deploy, diff between versions, and migrating running
instances to a newer version (migration.py; the engine replays it through steps.apply).

Everyone signed in may look at diagrams; only process owners and administrators may deploy
or migrate.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("modeler", __name__, url_prefix="/processes")

from . import formbuilder_views, views, whatif  # noqa: E402,F401

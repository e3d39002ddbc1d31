"""Lanes and roles: which role a diagram's lane stands for.

A lane maps to a role by the process owner's explicit `lane_roles` (lane id or name ->
role code, sent with the deploy), else when its id or name is a role's code, Chinese or
English name (case, spaces, - and _ ignored). A lane that holds user tasks and maps to no
role is refused at deploy: its tasks would reach nobody.
"""

from __future__ import annotations

import json
import re

from .errors import EngineError, LanesUnmapped


def _norm(text: str | None) -> str:
    return re.sub(r"[\s_\-]+", "_", (text or "").strip()).casefold()


def role_catalog() -> list[tuple[str, str, str]]:
    """(code, Chinese name, English name) of every role a lane can map to."""
    from ..accounts import ROLES

    return list(ROLES)


def lane_role(lane_id: str, lane_name: str | None, lane_roles: dict[str, str], roles) -> str | None:
    """The role a lane stands for: the process owner's explicit mapping (by lane id or name),
    else a role whose code, Chinese or English name equals the lane's id or name."""
    for key in (lane_id, lane_name):
        if key and key in lane_roles:
            return lane_roles[key]
    wanted = {_norm(lane_id), _norm(lane_name)} - {""}
    for code, zh, en in roles:
        if wanted & {_norm(code), _norm(zh), _norm(en)}:
            return code
    return None


def parse_lane_roles(raw: object) -> dict[str, str] | None:
    """`lane_roles` as a request sends it: a JSON object lane id or name -> role code, as
    text (a multipart field) or already an object (a JSON body)."""
    if raw in (None, ""):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as err:
            raise EngineError("lane_roles is not JSON", {"lane_roles": f"a JSON object lane -> role code: {err}"}) from None
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise EngineError("lane_roles must map lanes to role codes", {"lane_roles": "a JSON object lane -> role code"})
    return raw


def unmapped_answer(err: LanesUnmapped, problems: dict | None = None) -> dict:
    """The answer to a deploy refused for lanes nobody could work in: the problems, the
    lanes, and the roles they may be mapped to."""
    return {
        "error": err.message or "lanes match no role",
        "errors": problems if problems is not None else err.errors,
        "unmapped_lanes": err.lanes,
        "roles": [{"code": code, "name_zh": zh, "name_en": en} for code, zh, en in role_catalog()],
    }

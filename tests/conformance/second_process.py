"""Run in a process of its own: open a conformance database and, for every instance,
verify its history (hash chain and replay to the stored snapshot) and describe the
replayed end state. Prints one JSON object: {instance_id: {...}}.

    python -m tests.conformance.second_process DATABASE_URL
"""

from __future__ import annotations

import json
import sys

from config import TestConfig
from webapp import create_app
from webapp.engine import replay
from webapp.extensions import db
from webapp.models import Instance


def main(url: str) -> None:
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**settings, "SQLALCHEMY_DATABASE_URI": url})
    results = {}
    with app.app_context():
        for instance in db.session.scalars(db.select(Instance).order_by(Instance.id)).all():
            verdict = replay.verify(instance.id)
            state = replay.describe(replay.replay(instance.id))
            results[instance.id] = {
                "verified": verdict["verified"],
                "reason": verdict.get("reason"),
                "completed": state["completed"],
                "status": instance.status,
            }
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])

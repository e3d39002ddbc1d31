"""The private files under instance/: the folder (0700), the SQLite file (0600) and the
secret that signs session cookies (0600).

`make run` calls `python -m webapp.security.instance_files` before anything else: the first
run writes a random secret, later runs keep it (rotating it signs everyone out; see
docs/security.md). The app itself never invents a secret outside tests: it refuses to start.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

SECRET_FILE_NAME = "secret_key"


def private_dir(path: Path) -> Path:
    """Create the folder readable only by its owner (an existing one is left as it is, except
    the instance folder itself, which `ensure_secret_key` tightens)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_sqlite_file(url: str) -> None:
    """Create an empty SQLite file 0600 before SQLite does (SQLite would follow the umask,
    usually 0644); its -wal and -shm files take the database file's mode."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def ensure_secret_key(instance_dir: Path, file: Path | None = None) -> Path:
    """Write a random secret once (0600 in a 0700 folder); keep an existing one."""
    private_dir(instance_dir)
    os.chmod(instance_dir, 0o700)
    path = file or instance_dir / SECRET_FILE_NAME
    if not path.exists() or not path.read_text(encoding="utf-8").strip():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
    os.chmod(path, 0o600)
    return path


def main() -> int:
    from config import INSTANCE_DIR

    if os.environ.get("SECRET_KEY"):
        private_dir(INSTANCE_DIR)
        os.chmod(INSTANCE_DIR, 0o700)
        print("SECRET_KEY comes from the environment; instance/ is private")
        return 0
    file = Path(os.environ["SECRET_KEY_FILE"]) if os.environ.get("SECRET_KEY_FILE") else None
    path = ensure_secret_key(INSTANCE_DIR, file)
    print(f"session secret: {path} (mode 600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

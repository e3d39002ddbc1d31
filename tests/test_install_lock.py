"""Installs reproduce: the venv holds exactly the locked versions, the locks cover pyproject.toml,
a production install carries no test tools, and every package the code imports is declared."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
TEST_LOCK = ROOT / "requirements" / "test.txt"
TEST_TOOLS = {"pytest", "playwright", "ruff", "uv"}
# The project's own top-level modules, and the scripts/ helpers tests import by path.
LOCAL_MODULES = {"webapp", "workers", "config", "tests", "bench", "migrations"} | {
    script.stem for script in (ROOT / "scripts").glob("*.py")
}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def locked(path: Path) -> dict[str, str]:
    """{canonical name: version} of a lock file (uv/pip-compile format)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def declared(*, test: bool) -> list[Requirement]:
    project = pyproject()
    names = list(project["dependencies"])
    if test:
        names += project["optional-dependencies"]["test"]
    return [Requirement(name) for name in names]


def test_the_venv_holds_exactly_the_locked_versions():
    # pip freeze, as a person checking the install would run it
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    installed = {}
    for line in frozen.splitlines():
        match = _PIN.match(line)
        if match:
            installed[canonicalize_name(match.group(1))] = match.group(2)
    lock = locked(TEST_LOCK)
    wrong = {name: f"locked {version}, installed {installed.get(name, 'nothing')}"
             for name, version in lock.items() if installed.get(name) != version}
    assert not wrong, f"the venv differs from {TEST_LOCK.name} (run `make install-test`): {wrong}"
    extra = sorted(set(installed) - set(lock) - {"pip", "setuptools", "wheel", "aftersales"})
    if extra:
        # A shared development venv may hold packages someone is adding; a fresh clone has none.
        warnings.warn(f"installed but not in {TEST_LOCK.name} (declare them in pyproject.toml and run "
                      f"`make lock`, or remove them): {', '.join(extra)}", stacklevel=1)


def test_the_locks_cover_pyproject_and_agree():
    runtime, test = locked(RUNTIME_LOCK), locked(TEST_LOCK)
    for lock, requirements in ((runtime, declared(test=False)), (test, declared(test=True))):
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            assert name in lock, f"pyproject.toml names {requirement}, the lock does not: run `make lock`"
            assert requirement.specifier.contains(lock[name], prereleases=True), \
                f"{name}=={lock[name]} is locked but pyproject.toml wants {requirement}: run `make lock`"
    # the test lock is the runtime lock plus test tools, never another version of a runtime package
    assert {name: test.get(name) for name in runtime} == runtime
    # a production install carries no test tools
    assert not TEST_TOOLS & set(runtime)
    assert TEST_TOOLS <= set(test)


def test_every_lock_line_is_pinned_with_hashes():
    for path in (RUNTIME_LOCK, TEST_LOCK):
        text = path.read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        for block in blocks:
            assert _PIN.match(block), f"{path.name}: not an exact pin: {block[:80]!r}"
            assert "--hash=sha256:" in block, f"{path.name}: no hash for {block.split()[0]}"


def _imports(paths: list[Path]) -> set[str]:
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - LOCAL_MODULES


def _files(*roots: str) -> list[Path]:
    files = []
    for root in roots:
        path = ROOT / root
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def test_every_imported_package_is_declared():
    providers = importlib.metadata.packages_distributions()
    # make run and the bench targets install the runtime lock only; make test adds the test lock
    for roots, test in ((("webapp", "workers", "config.py", "migrations", "bench"), False), (("tests",), True)):
        names = {canonicalize_name(r.name) for r in declared(test=test)}
        for module in sorted(_imports(_files(*roots))):
            assert module in providers, f"{module} is imported in {roots} but no installed package provides it"
            dists = {canonicalize_name(d) for d in providers[module]}
            assert dists & names, f"{module} (from {sorted(dists)}) is imported in {roots} but not declared in pyproject.toml"

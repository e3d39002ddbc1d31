"""One sandbox process: reads requests from stdin, runs the diagram code, answers on stdout.

Started by engine/sandbox_pool.py as `python sandbox_child.py <memory MB>`, by path, so it
never imports the web application. The operating system bounds it: an address-space limit
(a huge allocation fails with MemoryError), a CPU-time limit moved forward before each
request (C-level work that ignores every Python-level check gets SIGXCPU), no files, no core
dumps; the parent kills it on a wall-clock deadline as well. RestrictedPython's guards still
apply inside: the process adds limits, it does not replace the escape protection.

Protocol: each message is a 4-byte big-endian length and that many bytes of JSON.
Request:  {"op": "exec"|"eval"|"render", "code": str, "context": {...}, "external": {...},
           "cpu_seconds": float, "max_output": int}
Answer:   {"ok": true, "context": {...}, "printed": str} | {"ok": true, "value": ...}
          | {"ok": false, "type": "NameError", "message": str, "line": int, "recycle": bool}
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import struct
import sys
import traceback

# engine/restricted.py, loaded as a top-level module from this file's folder, so that the
# web application's package (Flask, SQLAlchemy...) is never imported here.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
restricted = importlib.import_module("restricted")

_HEADER = struct.Struct(">I")


def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    try:
        resource.setrlimit(kind, (soft, soft if hard is None else hard))
    except (ValueError, OSError):
        pass  # a limit the system does not allow lowering further stays as it is


def _set_process_limits(memory_mb: int) -> None:
    if memory_mb > 0:
        _limit(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, 0)


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_cpu_soft_limit = [-1]  # the soft limit set last (whole seconds)


def _set_cpu_budget(seconds: float) -> None:
    # RLIMIT_CPU counts the whole life of the process, so each request moves the soft
    # limit to "now + budget"; the hard limit stays open so the next request can move it.
    # Requests take microseconds, so the limit is mostly the one already set: the system
    # call is made only when it moves.
    soft = int(_cpu_used() + max(seconds, 0.05)) + 1
    if soft != _cpu_soft_limit[0]:
        _limit(resource.RLIMIT_CPU, soft, resource.RLIM_INFINITY)
        _cpu_soft_limit[0] = soft


def _read_exactly(stream, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _error_line(code_text: str, err: BaseException) -> int:
    if isinstance(err, SyntaxError) and err.lineno:
        return err.lineno
    line = 0
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == "<string>":
            line = frame.lineno or 0
    return line if code_text.count("\n") >= line - 1 else 0


_jinja_env = None


class BudgetExceeded(Exception):
    pass


def _marked_as_data(value: object) -> object:
    """Each `{{ ... }}` value goes out marked as data (`translate="no"`): the instruction's prose
    is in the reader's language, the case data it quotes is as people typed it."""
    text = "" if value is None else str(value)
    if not text:
        return text
    return '<span translate="no">' + text.replace("\n", "<br>") + "</span>"


def _render(template: str, data: dict, max_output: int) -> str:
    """Jinja in its sandbox; every range() counts against one budget of iterations, so
    nested loops end long before they could run for minutes."""
    global _jinja_env
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    if _jinja_env is None:
        _jinja_env = ImmutableSandboxedEnvironment(
            autoescape=False, trim_blocks=True, lstrip_blocks=True, finalize=_marked_as_data
        )
    budget = [100_000]

    def budgeted_range(*args):
        for value in range(*args):
            budget[0] -= 1
            if budget[0] < 0:
                raise BudgetExceeded("the instructions loop more than 100000 times")
            yield value

    parts, size = [], 0
    for chunk in _jinja_env.from_string(template, globals={"range": budgeted_range}).generate(**data):
        parts.append(chunk)
        size += len(chunk)
        if size > max_output:
            break
    return "".join(parts)[:max_output]


def handle(request: dict) -> dict:
    op, code = request["op"], request["code"]
    context = request.get("context") or {}
    external = request.get("external") or None
    if op == "eval":
        return {"ok": True, "value": restricted.evaluate(code, context, external)}
    if op == "exec":
        log = restricted.PrintLog()
        restricted.execute(code, context, external, log)
        return {"ok": True, "context": context, "printed": log.text()}
    if op == "render":
        return {"ok": True, "value": _render(code, context, int(request.get("max_output") or 20_000))}
    if op == "ping":
        return {"ok": True, "value": os.getpid()}
    raise ValueError(f"unknown operation {op!r}")


def _failure(err: BaseException, code: str, recycle: bool = False) -> dict:
    message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    line = _error_line(code, err)
    return {"ok": False, "type": type(err).__name__, "message": message[:2000], "line": line, "recycle": recycle}


_ADDRESS = restricted.MEMORY_ADDRESS


def _holds_address(answer: dict, body: str) -> str | None:
    if not answer.get("ok") or not _ADDRESS.search(body):
        return None
    data = json.dumps(answer.get("context", answer.get("value")), ensure_ascii=False)
    found = _ADDRESS.search(data)
    return data[max(found.start() - 40, 0) : found.end()] if found else None


def _encode(answer: dict, max_output: int) -> bytes:
    try:
        text = json.dumps(answer, ensure_ascii=False, allow_nan=True)
        if (address := _holds_address(answer, text)) is not None:
            raise ValueError(f"it holds an object's memory address ({address}), which differs in every process")
        body = text.encode()
    except (TypeError, ValueError, RecursionError) as err:
        answer = {"ok": False, "type": "SandboxViolation", "message": f"the result cannot be kept: {err}", "line": 0}
        body = json.dumps(answer).encode()
    if len(body) > max_output:
        answer = {
            "ok": False,
            "type": "OutputTooLarge",
            "message": f"the code produced {len(body)} bytes of data, more than the limit of {max_output}",
            "line": 0,
        }
        body = json.dumps(answer).encode()
    return body


def main() -> None:
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    import jinja2.sandbox  # noqa: F401  (loaded before the first request's time budget starts)

    _set_process_limits(memory_mb)
    inbox, outbox = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers on the protocol stream
    outbox.write(_HEADER.pack(0))  # ready
    outbox.flush()
    while True:
        header = _read_exactly(inbox, _HEADER.size)
        if header is None:
            return  # the parent closed the pipe or died
        body = _read_exactly(inbox, _HEADER.unpack(header)[0])
        if body is None:
            return
        request = json.loads(body)
        code = request.get("code", "")
        max_output = int(request.get("max_output") or 1_000_000)
        recycle = False
        _set_cpu_budget(float(request.get("cpu_seconds") or 2.0))
        try:
            answer = handle(request)
        except MemoryError as err:
            recycle = True  # after an allocation failed, start clean
            answer = _failure(err, code, recycle=True)
        except RecursionError as err:
            answer = _failure(err, code)
        except Exception as err:  # diagram code fails in any way; the parent raises it again
            answer = _failure(err, code)
        try:
            encoded = _encode(answer, max_output)
        except MemoryError as err:
            recycle, encoded = True, json.dumps(_failure(err, code, recycle=True)).encode()
        outbox.write(_HEADER.pack(len(encoded)) + encoded)
        outbox.flush()
        if recycle:
            return


if __name__ == "__main__":
    main()

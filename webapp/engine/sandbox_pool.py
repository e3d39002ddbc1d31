"""A small pool of pre-started, reused sandbox processes (engine/sandbox_child.py) that run
diagram code where the operating system can stop it.

A call sends the code and its data as JSON and waits for the answer until a wall-clock
deadline; a process that misses it is killed (SIGKILL) and replaced, one that died (CPU
limit, crash) is replaced, so whatever a script does, the caller gets an answer or an
error within the limit plus a small margin and goes on.

Per process: the pool starts lazily on first use, so a gunicorn worker forked from a
master gets its own pool; a pool inherited through fork is dropped in the child without
touching the parent's sandboxes. Shut down at exit (and by the tests' fixtures).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_CHILD = Path(__file__).resolve().parent / "sandbox_child.py"
_HEADER = struct.Struct(">I")
_START_TIMEOUT = 30.0  # a busy machine can take a while to start Python


@dataclass(frozen=True)
class Limits:
    """What one piece of diagram code may use (config.py: SANDBOX_*)."""

    seconds: float = 2.0  # CPU time and wall clock
    memory_mb: int = 512  # address space of a sandbox process
    max_output_bytes: int = 1_000_000  # JSON the code may hand back (the task data after a script)
    pool_size: int = 2
    render_seconds: float = 1.0  # a task's instructions (Jinja)
    margin_seconds: float = 0.25  # wall clock beyond the limit before the process is killed


class SandboxError(Exception):
    """The sandbox stopped the code: time, memory, output size, or the process died."""


class SandboxTimeout(SandboxError):
    pass


class SandboxCrashed(SandboxError):
    pass


class _Process:
    def __init__(self, memory_mb: int) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            # set and dict orders of strings are the same in every sandbox process, so a
            # script that iterates a set writes the same data live and in replay
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.popen = subprocess.Popen(
            [sys.executable, "-s", str(_CHILD), str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self.out = self.popen.stdout.fileno()
        self.calls = 0
        ready = self._read_message(time.monotonic() + _START_TIMEOUT, _HEADER.size)
        if ready != b"":
            self.kill()
            raise SandboxCrashed("a sandbox process did not start")

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def _read_exactly(self, size: int, deadline: float, up_to: int = 0) -> bytes | None:
        """At least `size` bytes (at most `up_to`, when given, from the first read)."""
        data = bytearray()
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxTimeout()
            readable, _, _ = select.select([self.out], [], [], remaining)
            if not readable:
                raise SandboxTimeout()
            chunk = os.read(self.out, min(max(size, up_to) - len(data), 1 << 20))
            if not chunk:
                return None
            data += chunk
        return bytes(data)

    def _read_message(self, deadline: float, max_size: int) -> bytes | None:
        # The header and the body in one read where they arrive together (the child writes
        # them with one write): one wait and one read per answer instead of two of each.
        data = self._read_exactly(_HEADER.size, deadline, up_to=_HEADER.size + min(max_size, 1 << 16))
        if data is None:
            return None
        size = _HEADER.unpack(data[: _HEADER.size])[0]
        if size > max_size:
            raise SandboxCrashed(f"a sandbox process answered {size} bytes, more than allowed")
        body = data[_HEADER.size :]
        if len(body) > size:  # one answer per request: anything more breaks the protocol
            raise SandboxCrashed("a sandbox process answered more than one message")
        if len(body) < size:
            rest = self._read_exactly(size - len(body), deadline)
            if rest is None:
                return None
            body += rest
        return body

    def call(self, request: bytes, deadline: float, max_size: int) -> dict:
        self.calls += 1
        try:
            self.popen.stdin.write(_HEADER.pack(len(request)) + request)
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            raise SandboxCrashed("the sandbox process was gone") from None
        answer = self._read_message(deadline, max_size)
        if answer is None:
            raise SandboxCrashed(self._death())
        return json.loads(answer)

    def _death(self) -> str:
        try:
            code = self.popen.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "the sandbox process stopped answering"
        if code == -24:  # SIGXCPU
            return "CPU time limit"
        if code == -9:
            return "killed"
        return f"the sandbox process ended (exit {code})"

    def kill(self) -> None:
        try:
            self.popen.kill()
        except OSError:
            pass
        self.close()

    def close(self, wait: float = 1.0) -> None:
        for stream in (self.popen.stdin, self.popen.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.popen.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class SandboxPool:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.pid = os.getpid()
        self._idle: list[_Process] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False
        self.started = 0  # processes started over the pool's life (tests read it)

    def _acquire(self) -> _Process:
        with self._cond:
            while True:
                if self._closed:
                    raise SandboxError("the sandbox pool is shut down")
                while self._idle:
                    process = self._idle.pop()
                    if process.alive():
                        return process
                    self._count -= 1
                    process.close(wait=0)
                if self._count < max(self.limits.pool_size, 1):
                    self._count += 1
                    break
                self._cond.wait()
        try:
            process = _Process(self.limits.memory_mb)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        self.started += 1
        return process

    def _release(self, process: _Process, healthy: bool) -> None:
        with self._cond:
            # a process that just answered is alive (one that dies while idle is caught by
            # _acquire's check): no waitpid here
            if healthy and not self._closed:
                self._idle.append(process)
            else:
                self._count -= 1
                if not healthy:
                    process.kill()
                else:
                    process.close(wait=0.2)
            self._cond.notify()

    def call(self, op: str, code: str, context: dict, external: dict | None = None, *, seconds: float | None = None) -> dict:
        """The sandbox's answer; raises SandboxError when the code was stopped."""
        limits = self.limits
        seconds = limits.seconds if seconds is None else seconds
        request = json.dumps(
            {
                "op": op,
                "code": code,
                "context": context,
                "external": external,
                "cpu_seconds": seconds,
                "max_output": limits.max_output_bytes,
            },
            ensure_ascii=False,
        ).encode()
        process = self._acquire()
        healthy = False
        try:
            answer = process.call(request, time.monotonic() + seconds + limits.margin_seconds, limits.max_output_bytes + 4096)
            healthy = not answer.get("recycle")
            return answer
        except SandboxTimeout:
            raise SandboxTimeout(f"ran longer than the limit of {seconds:g} s and was stopped") from None
        except SandboxCrashed as err:
            if str(err) == "CPU time limit":
                raise SandboxTimeout(f"used more than the CPU time limit of {seconds:g} s and was stopped") from None
            raise
        finally:
            self._release(process, healthy)

    def shutdown(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for process in idle:
            process.close(wait=0.5)

    def pids(self) -> list[int]:
        with self._cond:
            return [p.pid for p in self._idle]


_pool: SandboxPool | None = None
_limits = Limits()
_lock = threading.Lock()


def configure(limits: Limits) -> None:
    """New limits; the running pool keeps its processes unless their memory limit changed."""
    global _limits, _pool
    with _lock:
        previous, _limits = _limits, limits
        if _pool is not None and _pool.pid == os.getpid():
            if previous.memory_mb != limits.memory_mb or previous.pool_size != limits.pool_size:
                _pool.shutdown()
                _pool = None
            else:
                _pool.limits = limits


def limits() -> Limits:
    return _limits


def pool() -> SandboxPool:
    global _pool
    current = _pool
    if current is not None and current.pid == os.getpid() and not current._closed:
        return current
    with _lock:
        if _pool is None or _pool.pid != os.getpid() or _pool._closed:
            _pool = SandboxPool(_limits)
        return _pool


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None and _pool.pid == os.getpid():
            _pool.shutdown()
        _pool = None


def _forget_after_fork() -> None:
    """In a forked child: the parent's sandboxes are not ours. Close our copies of their
    pipes (so they still see EOF when the parent goes) without signalling them."""
    global _pool
    inherited, _pool = _pool, None
    if inherited is None:
        return
    for process in inherited._idle:
        for stream in (process.popen.stdin, process.popen.stdout):
            try:
                stream.close()
            except OSError:
                pass
        process.popen.returncode = 0  # never waited on here


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(shutdown)

"""A fork server for ``tests/test_cli_signal_points.py``: each run of the ``hooklab`` command
with its stop signal taken at one point (``tests/_signal_at_point.py``, the launcher, run
unchanged) is a process of its own, forked from this one instead of a new interpreter that
imports hooklab anew (what cost most of each run's CPU: ~0.2 s of ~0.3 s, 164 runs).

A test copies this file as ``hooklab`` (the name the command is known by: ``hooklab.cli``
looks at it when imported) and starts it as a program:
``python hooklab LAUNCHER WORKDIR`` (stdin, stdout: pipes; every descriptor above 2 closed).
Before serving requests it

1. imports what the launcher imports before the command's ``main()`` (``hooklab.cli``);
2. forks a *probe* that runs ``hooklab serve`` up to the call of ``CaptureServer.start``
   (where the launcher's points begin) and writes the names in ``sys.modules`` there;
3. imports those modules itself, so that a run forked from it finds them imported, as a
   fresh process has them by that moment (its points come from there on: none of them is
   in the imports taken out of the run);
4. forks the probe again and checks that at that call the same modules, no more and no fewer,
   are imported (none that the command imports later was imported ahead of time), and says
   so in its first line: ``{"ready": true, "missing": [...], "extra": [...]}``.

Then, per line of JSON on stdin, ``{"argv": [...], "env": {...}, "out": path, "err": path}``:
it forks a run, says ``{"pid": n}``, waits for it and says ``{"code": c}`` (the exit code as
``subprocess`` gives it: -N for a signal). The run has stdin from ``/dev/null``, stdout and
stderr to the two files, ``env`` added to its environment, ``argv`` as its arguments, and
runs the launcher's code as ``__main__`` does, to its ``sys.exit`` (Python's exit as the
command's, atexit and the wait for non-daemon threads included). End of stdin: it exits.

The server has no thread and no descriptor but 0, 1 and 2 when it forks (checked: a run
must be like a process started anew, not share anything with it).
"""

from __future__ import annotations

import dis  # noqa: F401 - imported by the launcher before hooklab: present in every run
import json
import os
import sys
import threading

LAUNCHER, WORKDIR = sys.argv[1], sys.argv[2]
_LIFECYCLE = os.path.join("server", "lifecycle.py")


def _say(message: dict[str, object]) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())


def _lines():  # type: ignore[no-untyped-def]
    """The lines on stdin, read from the descriptor (nothing buffered for a run to inherit)."""
    pending = b""
    while True:
        while b"\n" not in pending:
            chunk = os.read(0, 65536)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        yield json.loads(line)


def _alone() -> None:
    """No thread but this one, no descriptor but 0, 1 and 2: what a run may inherit."""
    assert threading.active_count() == 1, threading.enumerate()
    if os.path.isdir("/proc/self/fd"):
        fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
        # (the listing's own descriptor is among them, closed by now)
        open_fds = [fd for fd in fds if fd > 2 and _is_open(fd)]
        assert not open_fds, f"descriptors open in the fork server: {open_fds}"


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _redirect(stdin: str, stdout: str, stderr: str) -> None:
    for fd, path, flags in ((0, stdin, os.O_RDONLY),
                            (1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        new = os.open(path, flags, 0o644)
        os.dup2(new, fd)
        os.close(new)


def _modules_at_start(name: str) -> list[str]:
    """The names in ``sys.modules`` as a forked ``hooklab serve`` calls ``CaptureServer.start``."""
    where = os.path.join(WORKDIR, f"{name}.json")
    db = os.path.join(WORKDIR, f"{name}.sqlite3")
    _alone()
    pid = os.fork()
    if pid == 0:  # (the probe: never returns)
        try:
            _redirect(os.devnull, os.path.join(WORKDIR, f"{name}.out"),
                      os.path.join(WORKDIR, f"{name}.err"))
            sys.argv = [LAUNCHER, "serve", "--port", "0", "--db", db]

            def at_start(frame, event, arg):  # type: ignore[no-untyped-def]
                code = frame.f_code
                if code.co_name == "start" and code.co_filename.endswith(_LIFECYCLE):
                    with open(where, "w", encoding="utf-8") as f:
                        json.dump(list(sys.modules), f)
                    os._exit(0)

            sys.settrace(at_start)
            from hooklab.cli import main

            main()
        finally:
            os._exit(3)  # (it never reached the call)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not os.path.exists(where):
        with open(os.path.join(WORKDIR, f"{name}.err"), encoding="utf-8", errors="replace") as f:
            raise SystemExit(f"the probe never reached CaptureServer.start:\n{f.read()[-3000:]}")
    with open(where, encoding="utf-8") as f:
        return json.load(f)


def _serve_runs() -> dict[str, object]:
    """Answer each request with a run; return the request of the run, in that run."""
    import importlib

    import hooklab.cli  # noqa: F401 - what the launcher imports before main()

    first = _modules_at_start("probe")
    for name in first:
        if name not in sys.modules and name != "__main__":
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001, S112 - a run imports it itself: checked below
                continue
    again = _modules_at_start("check")
    _say({"ready": True, "missing": sorted(set(first) - set(again)),
          "extra": sorted(set(again) - set(first))})
    for request in _lines():
        _alone()
        pid = os.fork()
        if pid == 0:
            return request
        _say({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _say({"code": os.waitstatus_to_exitcode(status)})
    raise SystemExit(0)


with open(LAUNCHER, encoding="utf-8") as _f:
    _LAUNCHER_CODE = compile(_f.read(), LAUNCHER, "exec", dont_inherit=True)
_request = _serve_runs()
# -- a run, in a process of its own --------------------------------------------------------
_redirect(os.devnull, str(_request["out"]), str(_request["err"]))
os.environ.update(_request["env"])  # type: ignore[arg-type]
sys.argv = [LAUNCHER, *_request["argv"]]  # type: ignore[misc]
del _request
exec(_LAUNCHER_CODE, {"__name__": "__main__", "__file__": LAUNCHER,  # noqa: S102
                      "__builtins__": __builtins__})

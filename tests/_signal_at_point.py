"""A launcher for tests: the ``hooklab`` command, as its console script runs it, with its stop
signal taken at one chosen moment of its main thread.

A test copies this file as ``hooklab`` (the name the command is known by) and runs it with
``python``. Python runs a signal's handler on the main thread between two bytecode
instructions: after a call returns, as a function starts, at a loop's backward jump. This
launcher counts those moments (its *points*) on the main thread, from the moment named by
``HOOKLAB_AT_FROM``, and at point number ``HOOKLAB_AT`` runs the handler the command has set
for signal ``HOOKLAB_AT_SIGNAL`` there, as Python would have run it had the signal come then
(an ignored signal does nothing; the default action is the kernel's: the signal is sent).
A moment that a signal hits once in thousands of runs on a loaded machine is hit every time.

``HOOKLAB_AT_FROM``:

- ``serving``: from the ready line on standard output ("hooklab listening on ...")
- ``starting``: from the call of ``CaptureServer.start`` (the capture server's thread is
  started and waited for), counting the points of ``threading`` and of the server's
  ``lifecycle`` module only (not those of the modules it imports)

``HOOKLAB_AT_SWALLOWED=1``: what the handler raises is dropped at once (see below).

``HOOKLAB_AT_LOG``, when set, is a file that gets where the point was (for a failure's
message), or "no point N" when the command ended first.
"""

from __future__ import annotations

import dis
import os
import signal
import sys

AT = int(os.environ["HOOKLAB_AT"])
FROM = os.environ["HOOKLAB_AT_FROM"]
SIG = int(os.environ.get("HOOKLAB_AT_SIGNAL", int(signal.SIGINT)))
LOG = os.environ.get("HOOKLAB_AT_LOG")
#: ``HOOKLAB_AT_SWALLOWED=1``: what the handler raises is caught and dropped where it is raised,
#: as code that catches every exception does (a callback from C whose error is cleared)
SWALLOWED = os.environ.get("HOOKLAB_AT_SWALLOWED") == "1"

#: instructions after which Python looks for a signal to handle
_AFTER = {"CALL", "CALL_KW", "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_FUNCTION_EX",
          "CALL_METHOD", "RESUME", "JUMP_BACKWARD", "JUMP_ABSOLUTE"}

state: dict[str, object] = {"armed": False, "done": False, "points": 0}
last: dict[int, str] = {}  # id(frame) -> the instruction it ran last


def _say(text: str) -> None:
    if LOG:
        with open(LOG, "w", encoding="utf-8") as f:
            f.write(text)


def _deliver(frame) -> None:  # type: ignore[no-untyped-def]
    state["done"] = True
    sys.settrace(None)
    where = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
    _say(f"point {AT}: {where}" if state["points"] == AT else
         f"point {AT} not reached ({state['points']} points): as {where} returns")
    handler = signal.getsignal(SIG)
    if handler is signal.SIG_IGN or handler is None:
        return
    if handler is signal.SIG_DFL:
        os.kill(os.getpid(), SIG)
        return
    if SWALLOWED:  # (code that catches what the handler raises and goes on)
        try:
            handler(SIG, frame)
        except BaseException:  # noqa: BLE001, S110 - what such code does
            pass
        return
    handler(SIG, frame)  # (what it raises is raised here, in the command's frame)


def _local(frame, event, arg):  # type: ignore[no-untyped-def]
    if state["done"]:
        return None
    if event == "return" and frame is state.get("from"):  # (``starting`` had fewer points:
        _deliver(frame)  # the signal comes as start() returns, not while the command serves)
        return None
    if event == "opcode":
        code = frame.f_code
        previous = last.get(id(frame))
        last[id(frame)] = dis.opname[code.co_code[frame.f_lasti]]
        if previous in _AFTER:
            state["points"] = points = int(state["points"]) + 1  # type: ignore[call-overload]
            if points == AT:
                _deliver(frame)
                return None
    return _local


def _arm(frame) -> None:  # type: ignore[no-untyped-def]
    state["armed"] = True
    sys.settrace(_global)
    while frame is not None:  # (the frames already running are counted from here on too)
        if _counted(frame):
            frame.f_trace = _local
            frame.f_trace_opcodes = True
        frame = frame.f_back


def _counted(frame) -> bool:  # type: ignore[no-untyped-def]
    name = frame.f_code.co_filename
    return FROM == "serving" or name.endswith(("threading.py", _LIFECYCLE))


_LIFECYCLE = os.path.join("server", "lifecycle.py")


def _global(frame, event, arg):  # type: ignore[no-untyped-def]
    if state["done"]:
        return None
    if not state["armed"]:
        if FROM == "starting" and frame.f_code.co_name == "start" and \
                frame.f_code.co_filename.endswith(_LIFECYCLE):
            state["from"] = frame
            _arm(frame)
            return _local
        return None
    if not _counted(frame):
        return None
    last.pop(id(frame), None)  # (a new frame: not the one that had its id before)
    frame.f_trace_opcodes = True
    return _local


class _Out:
    """Standard output, arming the count at the ready line (``serving``)."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self._stream = stream

    def write(self, text: str) -> int:
        n = self._stream.write(text)
        if FROM == "serving" and not state["armed"] and "listening on" in text:
            import threading

            if threading.current_thread() is threading.main_thread():
                self._stream.flush()
                _arm(sys._getframe(1))
        return n

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._stream, name)


sys.stdout = _Out(sys.stdout)  # type: ignore[assignment]
if FROM == "starting":
    sys.settrace(_global)

from hooklab.cli import main  # noqa: E402

try:
    code = main()
finally:
    sys.settrace(None)
    if not state["done"]:
        _say(f"no point {AT}: the command ended after {state['points']}")
sys.exit(code)

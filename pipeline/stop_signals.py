"""Whether the run was told to stop (SIGTERM or Ctrl-C), whatever became of the exception the signal raised.

Dagster raises a stop signal in the step as DagsterExecutionInterruptedError, from its Python signal handler; but
native code the step calls may turn that exception into another or drop it: DuckDB raises RuntimeError('Query
interrupted') for a signal during a query, and (measured, 3 December 2026) an InvalidInputException ("'pandas' is
required") or a duckdb.Error whose message is the handler's traceback for one during a pandas conversion. Under load
a SIGTERM sent during publication was lost altogether: the run published and exited 0.

Python's C-level signal handler writes each signal's number to a wakeup file descriptor (signal.set_wakeup_fd)
before any Python handler runs, and nothing a library does with the handler's exception undoes that. ``watching()``
opens one for a step; ``stop_received()`` reads it. Only the main thread can set it (a step run in a thread is
watched by nothing, as before); an event loop that sets its own (asyncio) is left alone.
"""

import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


class StopRequested(BaseException):
    """Raised where work must not be committed once a stop signal has come (publication's swap)."""


class _Watch:
    def __init__(self) -> None:
        self.reader: socket.socket | None = None
        self.received: set[int] = set()
        self.depth = 0


_watch = _Watch()


def _drain() -> None:
    if _watch.reader is None:
        return
    try:
        while data := _watch.reader.recv(4096):
            _watch.received.update(data)
    except (BlockingIOError, InterruptedError):
        pass


@contextmanager
def watching() -> Iterator[None]:
    """Within it (nested: the outermost one counts), every stop signal the process receives is noted; the signals
    before it are forgotten. Does nothing off the main thread, or when another wakeup fd is set (an event loop's)."""
    if _watch.depth:
        _watch.depth += 1
        try:
            yield
        finally:
            _watch.depth -= 1
        return
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    if previous != -1:  # someone else's (an event loop): theirs stays
        signal.set_wakeup_fd(previous)
        reader.close()
        writer.close()
        yield
        return
    _watch.reader, _watch.received, _watch.depth = reader, set(), 1
    try:
        yield
    finally:
        signal.set_wakeup_fd(-1)
        _watch.reader, _watch.received, _watch.depth = None, set(), 0
        reader.close()
        writer.close()


def stop_received() -> bool:
    """Whether a SIGTERM or SIGINT came since the outermost ``watching()`` began (False outside one)."""
    _drain()
    return bool(_watch.received & STOP_SIGNALS)


def raise_if_stopped() -> None:
    """StopRequested when a stop signal came, whatever became of its exception: for the point of no return."""
    if stop_received():
        raise StopRequested()

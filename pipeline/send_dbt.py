"""`send-dbt`: dbt's own command line (`dbt.cli.main:cli`, as the `dbt` script runs it), with dbt's modules kept out
of Python's cyclic garbage collector.

dagster-dbt runs every `dbt build` as a subprocess of this executable (pipeline/dbt_project.py, `dbt_executable`).
dbt imports ~1.5 s of modules, then makes its objects in small steps for each of the project's ~300 nodes; with the
collector's defaults the process spent ~2 s in it during a demo build (measured with gc.callbacks): its full passes
walked the imported modules again and again. Here the imports run with the collector off and are then frozen
(gc.freeze: never walked again), and the youngest generation is collected every 10,000 allocations instead of 700:
~0.5 s in all.

dbt also builds every event it fires into a protobuf message and formats it for each logger before Python's logging
drops it for its level: ~90 % of a build's events are debug events (each statement, connection and cache action),
which neither the JSON console log dagster-dbt reads (info) nor dbt.log (info, dbt_project.yml) writes. An event
no logger would write and no callback reads is skipped before that (`skip_unwritten_debug_events`), and an event's
protobuf message is built when something first reads the event, not when it is made (`defer_event_messages`): a
skipped event is never read, so its message is never built.

`dbt build` also writes target/manifest.json twice: once parsed, before its first node runs (~0.35 s), and again
after the last, with every node's compiled SQL; the first is skipped (`write_manifest_after_build_only`).

A run killed outright (kill -9, the out-of-memory killer) used to leave its `send-dbt` child building on its own,
writing send.duckdb while the next run started; on Linux the child now ends with its parent (`die_with_parent`).

dbt's own behaviour, arguments, logs and exit code are unchanged.
"""

import gc
import os
import signal
import sys

from pipeline.warm_imports import collector_paused

YOUNG_THRESHOLD = 10_000
DEBUG_LEVELS = frozenset({"debug", "test"})  # dbt's EventLevel values Python's logging gets as DEBUG


def nobody_reads_debug_events(loggers, callbacks, ignoring_debug) -> bool:
    """True when no logger writes below info and every callback is one known to ignore debug events."""
    return all(logger.level not in DEBUG_LEVELS for logger in loggers) and all(
        callback in ignoring_debug for callback in callbacks
    )


def skip_unwritten_debug_events() -> None:
    """Make dbt's EventManager return straight away from a debug event that nothing would write or read.

    The one callback dbt itself registers, `track_behavior_change_warn`, reads only BehaviorChangeEvent (a warning);
    any other callback (a dbtRunner's, say) gets every event as before, and so do loggers at debug (`--debug`,
    `--log-level-file debug`).
    """
    from dbt.tracking import track_behavior_change_warn
    from dbt_common.events.event_manager import EventManager

    fire_event = EventManager.fire_event
    ignoring_debug = (track_behavior_change_warn,)

    def fire_written_event(self, e, level=None, node=None, force_warn_or_error_handling=False):
        if (
            not force_warn_or_error_handling
            and (level or e.level_tag()) in DEBUG_LEVELS
            and nobody_reads_debug_events(self.loggers, self.callbacks, ignoring_debug)
        ):
            return
        fire_event(self, e, level, node, force_warn_or_error_handling)

    EventManager.fire_event = fire_written_event


PENDING = "_send_pending_message"  # the instance attribute holding an event's constructor arguments until first read


def defer_event_messages() -> None:
    """Make dbt's events build their protobuf message (``pb_msg``) on first read instead of in the constructor.

    dbt_common's BaseEvent.__init__ turns its keyword arguments into a protobuf message with ``json_format.ParseDict``
    (pure Python): ~0.8 s of a demo build's GIL time, for ~5,500 events of which ~90 % are debug events that
    skip_unwritten_debug_events then drops unread. Deferred, the constructor keeps its arguments; the first attribute
    read or write of the event (BaseEvent forwards both to ``pb_msg``, through ``__getattr__`` / ``__setattr__``)
    builds the message with the original constructor. A read event behaves exactly as before.
    """
    from dbt_common.events.base_types import BaseEvent

    if BaseEvent.__init__.__name__ == "deferred_init":
        return  # deferred already (twice would keep the arguments of an event already built)
    build, read, write = BaseEvent.__init__, BaseEvent.__getattr__, BaseEvent.__setattr__

    def materialise(event) -> None:
        # built, then forgotten: a thread reading the event meanwhile builds the same message rather than find none
        pending = event.__dict__.get(PENDING)
        if pending is not None:
            build(event, *pending[0], **pending[1])
            event.__dict__.pop(PENDING, None)

    def deferred_init(self, *args, **kwargs) -> None:
        self.__dict__[PENDING] = (args, kwargs)

    def read_message(self, key):
        materialise(self)
        return read(self, key)

    def write_message(self, key, value) -> None:
        if key != "pb_msg":  # the constructor's own write of the message it is building
            materialise(self)
        write(self, key, value)

    BaseEvent.__init__ = deferred_init
    BaseEvent.__getattr__ = read_message
    BaseEvent.__setattr__ = write_message


def write_manifest_after_build_only() -> None:
    """In `dbt build`: no manifest.json when the project is parsed, only the one dbt writes after the last node (the
    same manifest, with each node's compiled SQL: what `dbt docs generate --no-compile` starts from,
    pipeline/dbt_docs.py).

    The first write is dbt.parser.manifest.write_manifest called by parse_manifest; the last, dbt.task.runnable's own
    binding of that function, is left as it is. Other commands (`dbt parse`, whose output it is) write as before: the
    command is click's, as dbt's command line resolved it.
    """
    import click
    import dbt.task.runnable  # noqa: F401 - imported first, so it binds dbt's own write_manifest for the last write
    from dbt.parser import manifest

    write_manifest = manifest.write_manifest

    def write_unless_building(*args, **kwargs):
        context = click.get_current_context(silent=True)
        if context is not None and context.command.name == "build":
            return None
        return write_manifest(*args, **kwargs)

    manifest.write_manifest = write_unless_building


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """On Linux, have the kernel send this process ``sig`` when its parent dies (the run that started it); False
    where that is not available. The parent is checked again afterwards: it may have died before the request.
    SIGKILL, as the run itself was killed outright: SIGTERM can be ignored, and an ignored signal is inherited (the
    full suite ran the test from a process that ignores it, and the child lived on)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    parent = os.getppid()
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True


def main() -> None:
    die_with_parent()
    with collector_paused():
        from dbt.cli.main import cli

        skip_unwritten_debug_events()
        defer_event_messages()
        write_manifest_after_build_only()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    sys.exit(cli())


if __name__ == "__main__":
    main()

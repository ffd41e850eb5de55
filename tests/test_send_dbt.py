"""`send-dbt` (pipeline/send_dbt.py): dbt's command line with its imports frozen out of the garbage collector."""

import gc
import subprocess
import sys
import time
from pathlib import Path

import dbt.cli.main
import pytest

from pipeline import send_dbt
from pipeline.dbt_project import dbt_executable


def _patched_by_send_dbt_put_back(monkeypatch):
    """What send-dbt patches in dbt, restored after the test (the test process keeps dbt's own behaviour)."""
    from dbt.parser import manifest
    from dbt_common.events.base_types import BaseEvent
    from dbt_common.events.event_manager import EventManager

    monkeypatch.setattr(EventManager, "fire_event", EventManager.fire_event)
    monkeypatch.setattr(manifest, "write_manifest", manifest.write_manifest)
    for name in ("__init__", "__getattr__", "__setattr__"):
        monkeypatch.setattr(BaseEvent, name, BaseEvent.__dict__[name])


def test_dbt_runs_with_its_imports_frozen_and_the_collector_on(monkeypatch):
    _patched_by_send_dbt_put_back(monkeypatch)
    seen = {}

    def cli():
        seen.update(frozen=gc.get_freeze_count(), threshold=gc.get_threshold(), enabled=gc.isenabled())
        return 3

    monkeypatch.setattr(dbt.cli.main, "cli", cli)
    monkeypatch.setattr(gc, "set_threshold", lambda *t: seen.update(set=t))  # the test process keeps its own
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exited:
            send_dbt.main()
    finally:
        gc.unfreeze()
        gc.enable()
    assert exited.value.code == 3  # dbt's exit code
    assert seen["frozen"] > 0 and seen["enabled"]
    assert seen["set"][0] == send_dbt.YOUNG_THRESHOLD


def test_the_pipeline_runs_dbt_through_send_dbt_when_installed():
    assert Path(dbt_executable()) == Path(sys.executable).with_name("send-dbt")


def test_send_dbt_passes_dbt_its_arguments():
    printed = subprocess.run([dbt_executable(), "--help"], capture_output=True, text=True, check=True).stdout
    assert "Usage: send-dbt" in printed and "build" in printed


def test_dbt_itself_is_run_where_send_dbt_is_not_installed(tmp_path, monkeypatch):
    python = tmp_path / "python"
    monkeypatch.setattr(sys, "executable", str(python))
    assert dbt_executable() == "dbt"  # neither beside the interpreter: found on PATH, if anywhere
    (tmp_path / "dbt").touch()
    assert dbt_executable() == str(tmp_path / "dbt")
    (tmp_path / "send-dbt").touch()
    assert dbt_executable() == str(tmp_path / "send-dbt")


def test_send_dbt_sets_up_its_patches_before_dbt_runs(monkeypatch):
    seen = []
    monkeypatch.setattr(send_dbt, "skip_unwritten_debug_events", lambda: seen.append("skipping"))
    monkeypatch.setattr(send_dbt, "defer_event_messages", lambda: seen.append("deferring"))
    monkeypatch.setattr(send_dbt, "write_manifest_after_build_only", lambda: seen.append("manifest"))
    monkeypatch.setattr(dbt.cli.main, "cli", lambda: seen.append("dbt") or 0)
    monkeypatch.setattr(gc, "set_threshold", lambda *t: None)
    try:
        with pytest.raises(SystemExit):
            send_dbt.main()
    finally:
        gc.unfreeze()
        gc.enable()
    assert seen == ["skipping", "deferring", "manifest", "dbt"]


def _event_manager(monkeypatch, level, name):
    """A dbt EventManager with a JSON logger at `level` writing to a string, and dbt's own callback."""
    import io

    from dbt.tracking import track_behavior_change_warn
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.logger import LineFormat, LoggerConfig

    _patched_by_send_dbt_put_back(monkeypatch)
    send_dbt.skip_unwritten_debug_events()
    send_dbt.defer_event_messages()
    stream = io.StringIO()
    manager = EventManager()
    manager.add_logger(LoggerConfig(name=name, level=level, line_format=LineFormat.Json, output_stream=stream))
    manager.callbacks = [track_behavior_change_warn]
    return manager, stream


def test_a_debug_event_no_logger_writes_is_not_built(monkeypatch):
    from dbt_common.events import event_manager
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.types import Note

    built = []
    make_message = event_manager.msg_from_base_event
    monkeypatch.setattr(
        event_manager, "msg_from_base_event", lambda e, level=None: built.append(e) or make_message(e, level)
    )
    manager, stream = _event_manager(monkeypatch, EventLevel.INFO, "send_test_info")
    manager.fire_event(Note(msg="a statement"), level=EventLevel.DEBUG)
    assert built == [] and stream.getvalue() == ""
    manager.fire_event(Note(msg="a node finished"))  # info: built and written as before
    assert len(built) == 1 and "a node finished" in stream.getvalue()


def test_debug_events_still_reach_a_debug_logger_and_other_callbacks(monkeypatch):
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.types import Note

    manager, stream = _event_manager(monkeypatch, EventLevel.DEBUG, "send_test_debug")
    manager.fire_event(Note(msg="a statement"), level=EventLevel.DEBUG)
    assert "a statement" in stream.getvalue()

    manager, stream = _event_manager(monkeypatch, EventLevel.INFO, "send_test_callback")
    received = []
    manager.callbacks.append(received.append)  # e.g. a dbtRunner's callback: it gets every event
    manager.fire_event(Note(msg="a statement"), level=EventLevel.DEBUG)
    assert [m.info.msg for m in received] == ["a statement"] and stream.getvalue() == ""


@pytest.mark.parametrize(
    ("levels", "callbacks", "expected"),
    [(["info", "info"], ["known"], True), (["info", "debug"], ["known"], False), (["warn"], [], True),
     (["info"], ["known", "other"], False), (["test"], [], False)],
)  # fmt: skip
def test_nobody_reads_debug_events(levels, callbacks, expected):
    from types import SimpleNamespace

    loggers = [SimpleNamespace(level=level) for level in levels]
    assert send_dbt.nobody_reads_debug_events(loggers, callbacks, ("known",)) is expected


def _counting_messages_built(monkeypatch) -> list:
    from dbt_common.events import base_types

    built = []
    parse = base_types.ParseDict
    monkeypatch.setattr(base_types, "ParseDict", lambda fields, message: built.append(fields) or parse(fields, message))
    return built


def test_an_event_builds_its_message_when_first_read_or_written(monkeypatch):
    from dbt_common.events.types import Note

    built = _counting_messages_built(monkeypatch)
    _patched_by_send_dbt_put_back(monkeypatch)
    send_dbt.defer_event_messages()
    event = Note(msg="a statement")
    assert built == []
    assert event.msg == "a statement" and event.to_dict() == {"msg": "a statement"}
    assert len(built) == 1  # once, on the first read
    changed = Note(msg="before")
    changed.msg = "after"
    assert changed.msg == "after" and len(built) == 2


def test_a_malformed_event_fails_when_first_read(monkeypatch):
    from dbt_common.events.types import Note

    _patched_by_send_dbt_put_back(monkeypatch)
    send_dbt.defer_event_messages()
    event = Note(msg="a statement", no_such_field=1)  # dbt raises here under pytest (a warning outside it)...
    with pytest.raises(Exception, match="Unable to parse logging event"):
        assert event.msg  # ...deferred, on the first read


def test_a_skipped_debug_event_never_builds_its_message(monkeypatch):
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.types import Note

    built = _counting_messages_built(monkeypatch)
    manager, stream = _event_manager(monkeypatch, EventLevel.INFO, "send_test_deferred")
    manager.fire_event(Note(msg="a statement"), level=EventLevel.DEBUG)
    assert built == [] and stream.getvalue() == ""
    manager.fire_event(Note(msg="a node finished"))
    assert len(built) >= 1 and "a node finished" in stream.getvalue()


def test_dbt_build_writes_its_manifest_after_the_last_node_only(monkeypatch):
    import click
    import dbt.task.runnable
    from dbt.parser import manifest

    dbts_own = manifest.write_manifest
    written = []
    monkeypatch.setattr(manifest, "write_manifest", lambda parsed, target_path, which=None: written.append(target_path))
    send_dbt.write_manifest_after_build_only()
    for command in ("build", "parse", "docs"):
        with click.Context(click.Command(command)):
            manifest.write_manifest(None, command)
    assert written == ["parse", "docs"]  # skipped only where dbt build has parsed the project
    assert dbt.task.runnable.write_manifest is dbts_own  # the write after the last node


def test_the_write_after_the_last_node_stays_dbts_own_in_a_new_process():
    # dbt imports dbt.task.runnable only when a command runs: imported after the patch, it would bind the patch
    code = (
        "from pipeline import send_dbt\n"
        "import dbt.cli.main\n"
        "send_dbt.write_manifest_after_build_only()\n"
        "import dbt.task.runnable as runnable, dbt.parser.manifest as manifest\n"
        "print(runnable.write_manifest is not manifest.write_manifest)\n"
    )
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == "True"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_dbt_child_ends_when_its_run_is_killed_outright(tmp_path):
    """A run killed with kill -9 left its send-dbt child writing send.duckdb alone. A parent starts a child that
    asks to die with it (as send-dbt's main does first), then the parent is killed: the child ends too."""
    pid_file = tmp_path / "child.pid"
    # SIGTERM ignored, as a process that starts dbt may have it (inherited across exec): the child must still end
    child = f"import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \
            f"from pipeline.send_dbt import die_with_parent; import os, time; die_with_parent(); " \
            f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"  # fmt: skip
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); "
         "time.sleep(120)"]
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    stop = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
        assert time.monotonic() < stop, "the child outlived its killed parent"
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return "Z"

"""pipeline.stop_signals: a stop signal is noted whatever became of its handler's exception (native code turned it
into another error or dropped it: the run published after SIGTERM)."""

import os
import signal
import threading

import pytest

from pipeline import stop_signals


@pytest.fixture
def dropped_signals():
    """Python handlers for SIGTERM and SIGUSR1 that raise nothing: as if native code swallowed the exception."""
    previous = {sig: signal.signal(sig, lambda signum, frame: None) for sig in (signal.SIGTERM, signal.SIGUSR1)}
    yield
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def test_a_dropped_stop_signal_is_noted_within_the_watch_only(dropped_signals):
    signal.raise_signal(signal.SIGTERM)  # before any watch: forgotten
    assert not stop_signals.stop_received()
    with stop_signals.watching():
        assert not stop_signals.stop_received()
        signal.raise_signal(signal.SIGUSR1)  # not a stop
        assert not stop_signals.stop_received()
        stop_signals.raise_if_stopped()
        signal.raise_signal(signal.SIGTERM)
        with stop_signals.watching():  # nested: the outer watch's signals stay noted
            assert stop_signals.stop_received()
        assert stop_signals.stop_received()
        with pytest.raises(stop_signals.StopRequested):
            stop_signals.raise_if_stopped()
    assert not stop_signals.stop_received()
    assert signal.set_wakeup_fd(-1) == -1  # the watch's descriptor is not left set
    with stop_signals.watching():
        assert not stop_signals.stop_received()  # a new watch starts clean


def test_a_signal_from_another_process_is_noted(dropped_signals):
    with stop_signals.watching():
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()
        threading.Event().wait(0.5)  # the main thread waits; the handler runs and raises nothing
        assert stop_signals.stop_received()


def test_another_wakeup_descriptor_is_left_in_place(dropped_signals):
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write)
    try:
        with stop_signals.watching():
            signal.raise_signal(signal.SIGTERM)
            assert not stop_signals.stop_received()  # not watched: the event loop's descriptor kept
        assert signal.set_wakeup_fd(-1) == write
        assert os.read(read, 16) == bytes([signal.SIGTERM])
    finally:
        os.close(read)
        os.close(write)


def test_off_the_main_thread_nothing_is_watched(dropped_signals):
    seen = []

    def in_a_thread():
        with stop_signals.watching():
            seen.append(stop_signals.stop_received())

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [False]
    assert signal.set_wakeup_fd(-1) == -1

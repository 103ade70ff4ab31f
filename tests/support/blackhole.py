"""A broker address that never answers, and a bounded wait for a call that might hang.

A stopped server on loopback refuses a connection at once, which proves nothing about
timeouts. What hurts in production is a broker behind a dropped route or a wedged process:
the connection is never answered, or it is accepted and then nothing is ever said.
`Blackhole` is both, on loopback:

- `Blackhole("dropped")`: a listener whose accept queue is full and never drained, so the
  kernel ignores every new SYN (what a firewall DROP rule looks like to the client);
- `Blackhole("silent")`: connections are accepted and held, and not one byte is sent back.

`finishes(call, timeout, what)` runs `call` in a thread and fails the test, naming `what`,
when it has not returned after `timeout` seconds (a bound on a hang, not a speed claim).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


class Blackhole:
    def __init__(self, mode: str = "dropped") -> None:
        assert mode in {"dropped", "silent"}, mode
        self.mode = mode
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.held: list[socket.socket] = []
        self.closed = threading.Event()

    def __enter__(self) -> Blackhole:
        if self.mode == "dropped":
            self.listener.listen(0)
            self._fill_the_accept_queue()
        else:
            self.listener.listen(64)
            threading.Thread(target=self._hold, daemon=True).start()
        return self

    def _fill_the_accept_queue(self) -> None:
        """Connect (and never accept) until a connection attempt goes unanswered."""
        for _ in range(16):
            client = socket.socket()
            client.settimeout(0.5)
            try:
                client.connect(("127.0.0.1", self.port))
            except OSError:  # the SYN was dropped: the queue is full
                client.close()
                return
            self.held.append(client)
        raise AssertionError("the listener's accept queue never filled")

    def _hold(self) -> None:
        self.listener.settimeout(0.2)
        while not self.closed.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            self.held.append(connection)  # never read, never answered

    def __exit__(self, *exc) -> None:
        self.closed.set()
        for sock in [*self.held, self.listener]:
            sock.close()


def finishes(call: Callable[[], T], timeout: float, what: str) -> T:
    """`call()`'s result; fail the test if it has not returned within `timeout` seconds.

    An exception raised by `call` is raised here. The thread is a daemon: a call that
    really hangs is left behind (and named in the failure) instead of hanging the run.
    """
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True, name=f"bounded: {what}")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"{what} had not returned after {timeout:g} s (a hang on an unanswered "
                    "connection?)", pytrace=False)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]

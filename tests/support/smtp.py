"""A real SMTP server (aiosmtpd) for tests, with scripted answers.

`SmtpSink.responses` is a list of answers to give to the next DATA commands
(e.g. ["451 try later", "451 try later"]); when empty the message is accepted.
`stall_seconds` makes the server sleep before answering (to trigger timeouts).
"""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from .services import free_port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        if self.sink.stall_seconds:
            await asyncio.sleep(self.sink.stall_seconds)
        with self.sink.lock:
            if self.sink.responses:
                return self.sink.responses.pop(0)
            message = message_from_bytes(envelope.content, policy=policy.default)
            self.sink.messages.append(message)
            self.sink.raw.append(envelope.content)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.responses: list[str] = []
        self.stall_seconds = 0.0
        self.lock = threading.Lock()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

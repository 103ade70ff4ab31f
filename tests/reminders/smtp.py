"""A real SMTP server (aiosmtpd) whose answers a test can script: 451, 550 or a stall."""

from __future__ import annotations

import asyncio
import email
import threading
from collections import Counter
from email.message import Message

from aiosmtpd.controller import Controller

from tests.support.services import free_port


class ScriptedHandler:
    """Accepts every message unless `script` holds answers for the next DATA commands.

    An answer is an SMTP reply ("451 4.3.0 try later", "550 5.1.1 no such user") or
    "stall:<seconds>" (say nothing that long, then accept).
    """

    def __init__(self) -> None:
        self.script: list[str] = []
        self.messages: list[Message] = []
        self.attempts = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        with self.lock:
            self.attempts += 1
            answer = self.script.pop(0) if self.script else None
        if answer and answer.startswith("accept-stall:"):
            # the server has the message, but the client hears nothing yet: the window
            # between SMTP acceptance and the status update
            with self.lock:
                self.messages.append(email.message_from_bytes(envelope.content))
            await asyncio.sleep(float(answer.split(":", 1)[1]))
            return "250 OK"
        if answer and answer.startswith("stall:"):
            await asyncio.sleep(float(answer.split(":", 1)[1]))
            return "451 4.4.2 stalled"
        if answer:
            return answer
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(m["Message-ID"] for m in self.messages)

    def for_recipient(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if address in (m["To"] or "")]


class SMTPServer:
    def __init__(self) -> None:
        self.handler = ScriptedHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

"""The local mail server of ``make up``: an SMTP server on loopback that keeps every message it
accepts as an ``.eml`` file in ``var/mail/``, so a newcomer reads the demo's messages there.

``python -m services.notify.mailbox [--port 8025] [--dir var/mail]``. The integration tests use
``LocalMailServer`` too (the same server the stack runs). Not for production: deployments point
``LSQ_SMTP_*`` at the network's mail server.
"""
from __future__ import annotations

import argparse
import signal
import threading
import uuid
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller

from shared.config import var_dir
from shared.timeutil import utcnow


class _Keep:
    """aiosmtpd handler: one file per accepted message, written before the 250 reply."""

    def __init__(self, directory: Path):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        name = f"{utcnow().strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.directory / (name + ".part")
        temporary.write_bytes(envelope.original_content or envelope.content)
        temporary.rename(self.directory / name)  # readers never see half a message
        return "250 OK: kept"


class LocalMailServer:
    """An SMTP server on ``host:port`` writing messages to ``directory``."""

    def __init__(self, directory: Path, port: int = 8025, host: str = "127.0.0.1"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.host, self.port = host, port
        self.controller: Controller | None = None

    def start(self) -> "LocalMailServer":
        self.controller = Controller(_Keep(self.directory), hostname=self.host, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[Message]:
        """Every message kept so far, oldest first."""
        return [message_from_bytes(p.read_bytes()) for p in sorted(self.directory.glob("*.eml"))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="local SMTP server keeping messages in var/mail")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    server = LocalMailServer(args.dir or var_dir() / "mail", args.port).start()
    print(f"local mail server on 127.0.0.1:{args.port}, keeping messages in {server.directory}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()

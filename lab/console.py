"""A console's transcript: everything the target printed, searchable while it grows.

Reads go through labgrid's ``ConsoleProtocol`` so the same code reads QEMU's
socket, a local serial port or a remote ``NetworkSerialPort``. Bytes that are
not UTF-8 (line noise, a board resetting) are kept as replacement characters
instead of aborting the run.
"""

from __future__ import annotations

import re
import time
from typing import Pattern

from pexpect import TIMEOUT

from labgrid.protocol import ConsoleProtocol

POLL_INTERVAL_S = 0.05
TAIL_LINES_IN_ERRORS = 60


class ConsoleTimeout(Exception):
    """The console did not print what was awaited in time; carries the transcript."""

    def __init__(self, what: str, timeout_s: float, transcript: str) -> None:
        self.what = what
        self.timeout_s = timeout_s
        self.transcript = transcript
        tail = "\n".join(transcript.splitlines()[-TAIL_LINES_IN_ERRORS:])
        super().__init__(
            f"{what}: not seen within {timeout_s:.1f} s; console log "
            f"({len(transcript)} characters, last {TAIL_LINES_IN_ERRORS} lines):\n{tail}"
        )


class ConsoleTranscript:
    """Accumulates console output and answers "has X been printed yet?"."""

    def __init__(self, console: ConsoleProtocol) -> None:
        self._console = console
        self._received = bytearray()

    @property
    def text(self) -> str:
        return self._received.decode("utf-8", errors="replace").replace("\r\n", "\n")

    def poll(self, timeout_s: float = 0.0) -> bool:
        """Append whatever arrives within ``timeout_s``; say whether anything did."""
        try:
            chunk = self._console.read(size=1, timeout=timeout_s, max_size=65536)
        except TIMEOUT:
            return False
        self._received.extend(chunk)
        return bool(chunk)

    def wait_for(
        self, pattern: str | Pattern[str], timeout_s: float, *, what: str | None = None
    ) -> re.Match[str]:
        """Return the first match of ``pattern`` (multiline) in the transcript, waiting for it."""
        regex = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout_s
        while True:
            match = regex.search(self.text)
            if match:
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConsoleTimeout(what or f"/{regex.pattern}/", timeout_s, self.text)
            self.poll(min(POLL_INTERVAL_S * 4, remaining))

    def drain(self, quiet_s: float = 0.2) -> None:
        """Read until the console has been quiet for ``quiet_s``."""
        while self.poll(quiet_s):
            pass

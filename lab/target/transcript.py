"""A console's transcript: everything the target printed, searchable while it grows.

A background thread keeps reading the console for as long as the target
runs. Under QEMU that matters beyond convenience: a guest UART whose output
nobody reads blocks QEMU's CPU thread, and with it QEMU's monitor, so the
emulator could not even be told to quit. Bytes that are not UTF-8 (line
noise, a board resetting) are kept as replacement characters instead of
aborting the run.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Pattern

from labgrid.protocol import ConsoleProtocol
from pexpect import TIMEOUT

READ_TIMEOUT_S = 0.05
# A console that is readable yet gives nothing this many times in a row has reached its
# end: QEMU's socket after QEMU exited (recv returns b"" for ever; labgrid does not raise).
EMPTY_READS_AT_EOF = 50
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


class ConsoleClosed(ConsoleTimeout):
    """The console went away before the awaited line: the target stopped (QEMU ended, the
    board's serial line closed), so waiting longer cannot help."""

    def __init__(self, what: str, error: BaseException, transcript: str) -> None:
        self.what = what
        self.timeout_s = 0.0
        self.transcript = transcript
        self.error = error
        tail = "\n".join(transcript.splitlines()[-TAIL_LINES_IN_ERRORS:])
        Exception.__init__(
            self, f"{what}: the console closed before it was printed ({error or 'end of file'}); "
                  f"console log ({len(transcript)} characters, last {TAIL_LINES_IN_ERRORS} "
                  f"lines):\n{tail}")


class ConsoleTranscript:
    """Accumulates console output in the background and answers "has X been printed yet?"."""

    def __init__(self, console: ConsoleProtocol) -> None:
        self._console = console
        self._received = bytearray()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None
        self.read_error: Exception | None = None

    def start(self) -> None:
        self._reader = threading.Thread(target=self._read_forever, name="console", daemon=True)
        self._reader.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._reader:
            self._reader.join()

    @property
    def text(self) -> str:
        with self._changed:
            raw = bytes(self._received)
        return raw.decode("utf-8", errors="replace").replace("\r\n", "\n")

    def _read_forever(self) -> None:
        # The driver's own _read, not read(): read() is a labgrid step, and
        # labgrid's step stack belongs to the test's thread.
        read = self._console._read  # noqa: SLF001
        empty = 0
        while not self._stopping.is_set():
            try:
                chunk = read(size=1, timeout=READ_TIMEOUT_S, max_size=65536)
            except TIMEOUT:
                empty = 0
                continue
            except Exception as error:  # the console went away: the target is off
                self.read_error = error
                return
            if not chunk:
                empty += 1
                if empty >= EMPTY_READS_AT_EOF:
                    self.read_error = EOFError("the console reached its end")
                    return
                continue
            empty = 0
            with self._changed:
                self._received.extend(chunk)
                self._changed.notify_all()

    def wait_for(
        self, pattern: str | Pattern[str], timeout_s: float, *, what: str | None = None
    ) -> re.Match[str]:
        """Return the first match of ``pattern`` (multiline) in the transcript, waiting for it."""
        regex = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout_s
        while True:
            # Complete lines only: a console that delivers a byte at a time (a raw
            # network serial port) leaves the last line cut, and `$` would match there.
            text = self.text
            match = regex.search(text, 0, text.rfind("\n") + 1)
            if match:
                return match
            remaining = deadline - time.monotonic()
            if self.read_error is not None and not self._reader_alive():
                raise ConsoleClosed(what or f"/{regex.pattern}/", self.read_error, self.text)
            if remaining <= 0:
                raise ConsoleTimeout(what or f"/{regex.pattern}/", timeout_s, self.text)
            with self._changed:
                self._changed.wait(min(remaining, 1.0))

    def _reader_alive(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

"""The two errors a user of the firmware tooling can see."""

from __future__ import annotations

import re
from pathlib import Path

# A value quoted in an error longer than this is shown by its start and its length.
QUOTE_LIMIT = 80
_LONG_RUN = re.compile(r"\S{%d,}" % (QUOTE_LIMIT + 1))


def shorten(text: str) -> str:
    """`text` if short; else its start, an ellipsis and how long it was."""
    if len(text) <= QUOTE_LIMIT:
        return text
    return f"{text[:QUOTE_LIMIT - 20]}... ({len(text)} characters)"


def _shorten_runs(message: str) -> str:
    """Every unbroken run of characters too long to read shortened: a 10 MB name in a
    file is an error of one line, whichever check quotes it."""
    return _LONG_RUN.sub(lambda match: shorten(match.group(0)), message)


def display_path(path: Path) -> str:
    """The path as the user typed it in the usual case: relative to the working directory."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class ConfigError(Exception):
    """A board or scenario file is unreadable or invalid.

    Renders as "<file>: <key path>: <message>" so an editor can jump to the file
    and the user can find the offending key.
    """

    def __init__(self, file: Path, key: str | None, message: str) -> None:
        self.file = file
        self.key = key
        self.message = _shorten_runs(message)
        parts = [display_path(file)] + ([key] if key else []) + [self.message]
        super().__init__(": ".join(parts))


class BoardLacksError(ConfigError):
    """A valid scenario needs what the board does not offer (a Linux VM on a board without
    a `linux:` entry): `check` reports it as not applicable rather than as broken."""


class BuildError(Exception):
    """An external build step (make, a compiler) failed."""

"""The two errors a user of the firmware tooling can see."""

from __future__ import annotations

from pathlib import Path


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
        self.message = message
        parts = [display_path(file)] + ([key] if key else []) + [message]
        super().__init__(": ".join(parts))


class BuildError(Exception):
    """An external build step (make, a compiler) failed."""

"""Boot banners: the one line that says a boot succeeded and what booted.

OVM prints its own; a guest program built to run without OVM (the
evaluation's native baseline) prints a ``NATIVE`` line instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BANNER_PATTERN = re.compile(
    r"^OVM (?P<version>\S+) board=(?P<board>\S+) scenario=(?P<scenario>\S+) "
    r"build=(?P<build>\S+) +cores=(?P<cores_up>\d+)/(?P<cores>\d+)\s*$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Banner:
    version: str
    board: str
    scenario: str
    build: str
    cores_up: int
    cores: int

    @classmethod
    def from_match(cls, match: re.Match[str]) -> "Banner":
        """From BANNER_PATTERN's groups, which are named as the fields are."""
        text = match.groupdict()
        return cls(text["version"], text["board"], text["scenario"], text["build"],
                   int(text["cores_up"]), int(text["cores"]))


NATIVE_BANNER_PATTERN = re.compile(
    r"^NATIVE program=(?P<program>\S+) board=(?P<board>\S+) build=(?P<build>\S+)\s*$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class NativeBanner:
    program: str
    board: str
    build: str

    @classmethod
    def from_match(cls, match: re.Match[str]) -> "NativeBanner":
        return cls(program=match["program"], board=match["board"], build=match["build"])

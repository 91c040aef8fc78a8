"""Limits of the C side, read from its header so that the two cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

_OVM = Path(__file__).resolve().parents[2] / "ovm"
CONFIG_H = _OVM / "core" / "inc" / "core" / "config.h"
# The hypercall ABI: guests' and OVM's, so also the grant bits of the scenarios' `io`.
HYPERCALL_H = _OVM / "include" / "ovm" / "hypercall.h"


def c_define(header: Path, name: str) -> int:
    """The integer value of `#define <name> <value>` in `header`."""
    match = re.search(
        rf"^#define\s+{re.escape(name)}\s+(0x[0-9a-fA-F]+|[0-9]+)[uU]?\s*$",
        header.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    if match is None:
        raise LookupError(f"{header}: no '#define {name} <integer>'")
    return int(match.group(1), 0)


MAX_CORES = c_define(CONFIG_H, "OVM_MAX_CORES")
MAX_VMS = c_define(CONFIG_H, "OVM_MAX_VMS")
MAX_DEVICE_SECTIONS = c_define(CONFIG_H, "OVM_MAX_DEVICE_SECTIONS")
CONSOLE_QUEUE = c_define(CONFIG_H, "OVM_CONSOLE_QUEUE")

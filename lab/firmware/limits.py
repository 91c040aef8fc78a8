"""Constants of the C side, read from its headers so that the two cannot drift apart."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_OVM = Path(__file__).resolve().parents[2] / "ovm"
CONFIG_H = _OVM / "core" / "inc" / "core" / "config.h"
# The hypercall ABI: guests' and OVM's, so also the grant bits of the scenarios' `io`.
HYPERCALL_H = _OVM / "include" / "ovm" / "hypercall.h"
# OVM's EDF admission test and its limits.
ADMISSION_H = _OVM / "core" / "inc" / "core" / "admission.h"
# The interrupt lines OVM keeps for itself.
OVM_LINES_H = _OVM / "arch" / "armv7" / "inc" / "arch" / "ovm_lines.h"
# OVM's non-secure area: where the shim's page lies in it.
NS_AREA_H = _OVM / "arch" / "armv7" / "inc" / "arch" / "ns_area.h"

_NUMBER = r"-?(?:0x[0-9a-fA-F]+|\d+)"


@cache
def _code(header: Path) -> str:
    """The header without its comments."""
    return re.sub(r"/\*.*?\*/", "", header.read_text(encoding="utf-8"), flags=re.DOTALL)


@cache
def header_constants(header: Path) -> dict[str, int]:
    """Every integer ``#define`` and enumerator of `header`, by name."""
    text = _code(header)
    values = {
        name: int(value, 0)
        for name, value in re.findall(rf"^#define\s+(\w+)\s+({_NUMBER})[uUlL]*\s*$", text,
                                      re.MULTILINE)
    }
    for body in re.findall(r"\benum\s+\w+\s*\{(.*?)\}", text, re.DOTALL):
        following = 0  # an enumerator without a value is the one before it + 1
        for item in body.split(","):
            parts = re.fullmatch(rf"\s*(\w+)\s*(?:=\s*({_NUMBER}))?\s*", item)
            if parts is None:
                continue
            value = int(parts.group(2), 0) if parts.group(2) else following
            values[parts.group(1)] = value
            following = value + 1
    return values


def c_define(header: Path, name: str) -> int:
    """The integer value of `#define <name> <value>` (or of an enumerator) in `header`."""
    try:
        return header_constants(header)[name]
    except KeyError:
        raise LookupError(f"{header}: no '#define {name} <integer>'") from None


def c_constants(header: Path, prefix: str) -> dict[str, int]:
    """Every ``#define`` or enumerator of `header` named ``<prefix><NAME>``, as {NAME: value}:
    a C enum read whole, for a Python enum of the same members."""
    found = {name[len(prefix):]: value for name, value in header_constants(header).items()
             if name.startswith(prefix) and len(name) > len(prefix)}
    if not found:
        raise LookupError(f"{header}: no constant named {prefix}*")
    return found


@cache
def struct_size(name: str, header: Path = HYPERCALL_H) -> int:
    """sizeof(struct <name>) of a header whose structs hold only 32-bit words, char
    arrays of whole words and arrays of such structs (so no padding)."""
    match = re.search(rf"\bstruct\s+{re.escape(name)}\s*\{{(.*?)\}};", _code(header), re.DOTALL)
    if match is None:
        raise LookupError(f"{header}: no struct {name}")
    size = 0
    for member in match.group(1).split(";"):
        member = " ".join(member.split())
        if not member:
            continue
        parts = re.fullmatch(r"(struct \w+|unsigned int|char|int) (\w+)(?:\[(\w+)\])?", member)
        if parts is None:
            raise LookupError(f"{header}: struct {name}: cannot size member {member!r}")
        kind, _, count = parts.groups()
        unit = struct_size(kind.split()[1], header) if kind.startswith("struct ") else (
            1 if kind == "char" else 4)
        if count is None:
            size += unit
        else:
            size += unit * (int(count, 0) if count[0].isdigit() else c_define(header, count))
    return size


MAX_CORES = c_define(CONFIG_H, "OVM_MAX_CORES")
MAX_VMS = c_define(CONFIG_H, "OVM_MAX_VMS")
MAX_DEVICE_SECTIONS = c_define(CONFIG_H, "OVM_MAX_DEVICE_SECTIONS")
CONSOLE_QUEUE = c_define(CONFIG_H, "OVM_CONSOLE_QUEUE")
# The longest SRT period, and so the longest anything in the scheduler may be.
MAX_PERIOD_US = c_define(CONFIG_H, "OVM_MAX_PERIOD_US")

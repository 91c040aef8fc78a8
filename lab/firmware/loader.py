"""Loading and validating board and scenario files from an ovm/ source tree.

Layout under `root` (the ovm/ directory):
  board/<board>/board.yaml   one directory per board
  scenarios/<scenario>.yaml  one file per scenario
  guests/<guest>/            one directory per guest program
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ConfigError, display_path
from .model import MIB, Board, Console, ConsoleDriver, Level, Region, Scenario
from .placement import VmRequest, place
from .schema import (
    U32_MAX,
    At,
    address,
    choice,
    describe,
    integer,
    mapping,
    offset,
    read_yaml,
    sequence,
    size,
    string,
)

# Limits of the C side: OVM_MAX_CORES and OVM_MAX_VMS in ovm/core/inc/core/config.h.
MAX_CORES = 4
MAX_VMS = 8

# The Cortex-A9 private memory region is 8 KiB and aligned to its size.
PERIPH_ALIGNMENT = 8 << 10

# guests/lib holds code shared by the guests, not a guest.
SHARED_GUEST_DIR = "lib"

VM_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")

_BOARD_KEYS = (
    "name", "description", "cpu", "cores", "ram", "ovm", "periph_base", "gic_lines",
    "private_timer_hz", "console", "secondary_release",
)
_VM_KEYS = ("name", "guest", "level", "cores", "memory")


def board_file(root: Path, name: str) -> Path:
    return root / "board" / name / "board.yaml"


def scenario_file(root: Path, name: str) -> Path:
    return root / "scenarios" / f"{name}.yaml"


def available_boards(root: Path) -> list[str]:
    return sorted(path.name for path in _subdirs(root / "board"))


def available_scenarios(root: Path) -> list[str]:
    directory = root / "scenarios"
    if not directory.is_dir():
        return []
    return sorted(path.stem for path in directory.glob("*.yaml") if path.is_file())


def available_guests(root: Path) -> list[str]:
    return sorted(
        path.name for path in _subdirs(root / "guests") if path.name != SHARED_GUEST_DIR
    )


def load_board(root: Path, name: str) -> Board:
    file = board_file(root, name)
    known = available_boards(root)
    if name not in known:
        raise ConfigError(file, None, f"unknown board {name!r} (available: {_listing(known)})")
    at = At(file)
    doc = mapping(read_yaml(file), at, required=_BOARD_KEYS)

    board_name = string(doc["name"], at.field("name"))
    if board_name != name:
        raise at.field("name").error(
            f"{board_name!r} does not match the directory name {name!r}"
        )
    ram = _ram(doc["ram"], at.field("ram"))
    return Board(
        name=board_name,
        description=string(doc["description"], at.field("description")),
        cpu=choice(doc["cpu"], at.field("cpu"), ("cortex-a9",)),
        cores=integer(doc["cores"], at.field("cores"), 1, MAX_CORES),
        ram=ram,
        ovm=_ovm_region(doc["ovm"], at.field("ovm"), ram),
        periph_base=address(doc["periph_base"], at.field("periph_base"), PERIPH_ALIGNMENT),
        gic_lines=_gic_lines(doc["gic_lines"], at.field("gic_lines")),
        private_timer_hz=integer(
            doc["private_timer_hz"], at.field("private_timer_hz"), 1, U32_MAX
        ),
        console=_console(doc["console"], at.field("console")),
        secondary_release=_optional_address(
            doc["secondary_release"], at.field("secondary_release")
        ),
    )


def load_scenario(root: Path, name: str, board: Board) -> Scenario:
    """Load a scenario and place its VMs in `board`'s RAM."""
    file = scenario_file(root, name)
    known = available_scenarios(root)
    if name not in known:
        raise ConfigError(file, None, f"unknown scenario {name!r} (available: {_listing(known)})")
    at = At(file)
    doc = mapping(read_yaml(file), at, required=("description", "vms"))
    description = string(doc["description"], at.field("description"))

    vms_at = at.field("vms")
    items = sequence(doc["vms"], vms_at)
    if not items:
        raise vms_at.error("at least one VM is required")
    if len(items) > MAX_VMS:
        raise vms_at.error(f"{len(items)} VMs given, at most {MAX_VMS} are supported")
    guests = available_guests(root)
    requests: list[VmRequest] = []
    for index, item in enumerate(items):
        request = _vm_request(item, vms_at.item(index), board, guests, root)
        for other_index, other in enumerate(requests):
            if other.name == request.name:
                raise request.at.field("name").error(
                    f"duplicate VM name {request.name!r} (also vms[{other_index}])"
                )
        requests.append(request)
    return Scenario(name=name, description=description, vms=place(requests, board, vms_at))


def _ram(value: object, at: At) -> Region:
    doc = mapping(value, at, required=("base", "size"))
    region = Region(
        base=address(doc["base"], at.field("base"), MIB),
        size=size(doc["size"], at.field("size"), multiple_of=MIB),
    )
    if region.end > U32_MAX + 1:
        raise at.error(
            f"region {region.base:#010x} + {region.size:#x} exceeds the 32-bit address space"
        )
    return region


def _ovm_region(value: object, at: At, ram: Region) -> Region:
    doc = mapping(value, at, required=("offset", "size"))
    region = Region(
        base=ram.base + offset(doc["offset"], at.field("offset"), alignment=MIB),
        size=size(doc["size"], at.field("size"), multiple_of=MIB),
    )
    if not ram.contains(region):
        raise at.error(f"region {region} lies outside RAM ({ram})")
    return region


def _gic_lines(value: object, at: At) -> int:
    lines = integer(value, at, 32, 1020)
    if lines % 32:
        raise at.error(f"{lines} is not a multiple of 32")
    return lines


def _console(value: object, at: At) -> Console:
    doc = mapping(value, at, required=("driver", "base", "clock_hz", "baud"))
    driver = choice(doc["driver"], at.field("driver"), [d.value for d in ConsoleDriver])
    return Console(
        driver=ConsoleDriver(driver),
        base=address(doc["base"], at.field("base"), 4),
        clock_hz=integer(doc["clock_hz"], at.field("clock_hz"), 1, U32_MAX),
        baud=integer(doc["baud"], at.field("baud"), 1, U32_MAX),
    )


def _optional_address(value: object, at: At) -> int | None:
    return None if value is None else address(value, at, 4)


def _vm_request(value: object, at: At, board: Board, guests: list[str], root: Path) -> VmRequest:
    doc = mapping(value, at, required=_VM_KEYS)
    name = string(doc["name"], at.field("name"))
    if not VM_NAME.fullmatch(name):
        raise at.field("name").error(
            f"{name!r} is not a valid VM name (lower-case letter, then up to 15 of a-z, 0-9, _)"
        )
    guest = string(doc["guest"], at.field("guest"))
    if guest not in guests:
        raise at.field("guest").error(
            f"unknown guest {guest!r}: no directory {display_path(root / 'guests' / guest)} "
            f"(available: {_listing(guests)})"
        )
    memory_at = at.field("memory")
    memory = mapping(doc["memory"], memory_at, required=("size",), optional=("offset",))
    return VmRequest(
        name=name,
        guest=guest,
        level=Level(choice(doc["level"], at.field("level"), [level.value for level in Level])),
        cores=_vm_cores(doc["cores"], at.field("cores"), board),
        size=size(memory["size"], memory_at.field("size"), multiple_of=MIB),
        offset=(
            offset(memory["offset"], memory_at.field("offset"), alignment=MIB)
            if "offset" in memory
            else None
        ),
        at=at,
    )


def _vm_cores(value: object, at: At, board: Board) -> tuple[int, ...]:
    items = sequence(value, at)
    if not items:
        raise at.error("at least one core is required")
    cores: list[int] = []
    for index, item in enumerate(items):
        item_at = at.item(index)
        if not isinstance(item, int) or isinstance(item, bool):
            raise item_at.error(f"expected an integer, got {describe(item)}")
        if not 0 <= item < board.cores:
            raise item_at.error(
                f"core {item} does not exist: board {board.name!r} has cores 0..{board.cores - 1}"
            )
        if item in cores:
            raise item_at.error(f"core {item} is listed twice")
        cores.append(item)
    return tuple(cores)


def _subdirs(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return [path for path in directory.iterdir() if path.is_dir() and not path.name.startswith(".")]


def _listing(names: list[str]) -> str:
    return ", ".join(names) if names else "none"

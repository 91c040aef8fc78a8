"""Loading and validating board and scenario files from an ovm/ source tree.

Layout under `root` (the ovm/ directory):
  board/<board>/board.yaml   one directory per board
  scenarios/<scenario>.yaml  one file per scenario
  guests/<guest>/            one directory per guest program
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ConfigError, display_path
from .io import IO_DEVICES, refusal
from .limits import (
    CONSOLE_QUEUE,
    MAX_CORES,
    MAX_DEVICE_SECTIONS,
    MAX_PERIOD_US,
    MAX_VMS,
    OVM_LINES_H,
    c_define,
)
from .linux_vm import board_linux, check_placement, linux_kernel
from .memory_plan import RuntimeImageRequest, VmRequest, place_all
from .model import (
    MIB,
    OVM_NS_SIZE,
    RUNTIME_IMAGE_PREFIX,
    Board,
    Console,
    ConsoleConfig,
    ConsoleDriver,
    Device,
    Level,
    LinuxKernel,
    Privilege,
    Region,
    RtParams,
    Scenario,
    SchedConfig,
    TrustZone,
    TzControl,
    TzController,
    VmIrq,
    ovm_ns_area,
)
from .sharing import FIRST_PPI, check_sharing
from .yaml_checks import (
    U32_MAX,
    At,
    address,
    boolean,
    choice,
    describe,
    format_size,
    integer,
    mapping,
    offset,
    read_yaml,
    sequence,
    size,
    string,
)

# The Cortex-A9 private memory region is 8 KiB and aligned to its size.
PERIPH_ALIGNMENT = 8 << 10

# guests/lib holds code shared by the guests, not a guest.
SHARED_GUEST_DIR = "lib"

VM_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")

# A tick longer than a second is a typo, not a scheduler.
MAX_TICK_US = 1_000_000
# The console's sharing round: shorter is all overhead, longer than a second is a typo.
CONSOLE_ROUND_US = (10, 1_000_000)

_BOARD_KEYS = (
    "name", "description", "cpu", "cores", "ram", "ovm", "periph_base", "gic_lines",
    "private_timer_hz", "console", "secondary_release",
)
_VM_KEYS = ("name", "level", "cores", "memory")
# A VM runs a guest program (`guest`) or a Linux kernel (`linux`), one of the two.
_VM_OPTIONAL_KEYS = ("guest", "linux", "realtime", "irqs", "host", "args", "devices", "io",
                     "privilege", "fpu")
_BOARD_OPTIONAL_KEYS = ("devices", "trustzone", "linux")
_TRUSTZONE_KEYS = ("controller", "secure_ddr_granules")
_TRUSTZONE_OPTIONAL_KEYS = ("controls", "secure_only")
CONTROL_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
# A device is given to a VM in whole small pages.
PAGE = 4096
# Guests get their VM's arguments in r2 and r3.
MAX_GUEST_ARGS = 2
_SCHEDULER_KEYS = ("tick_us", "nrt_slice_us", "min_period_us")
_REALTIME_KEYS = ("deadline_us", "period_us", "budget_us")
_CONSOLE_KEYS = ("round_us", "bytes_per_round")
_RUNTIME_KEYS = ("guest", "memory")


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
    doc = mapping(read_yaml(file), at, required=_BOARD_KEYS, optional=_BOARD_OPTIONAL_KEYS)

    board_name = string(doc["name"], at.field("name"))
    if board_name != name:
        raise at.field("name").error(
            f"{board_name!r} does not match the directory name {name!r}"
        )
    ram = _ram(doc["ram"], at.field("ram"))
    periph_base = address(doc["periph_base"], at.field("periph_base"), PERIPH_ALIGNMENT)
    console = _console(doc["console"], at.field("console"))
    ovm = _ovm_region(doc["ovm"], at.field("ovm"), ram)
    trustzone = (
        None if doc.get("trustzone") is None
        else _trustzone(doc["trustzone"], at.field("trustzone"), ram, ovm)
    )
    devices = _devices(doc.get("devices", {}), at.field("devices"), ram, periph_base, console)
    _check_ovm_ns(ovm, ram, trustzone, at.field("ovm"))
    if trustzone is not None:
        _check_devices_not_secure_only(devices, trustzone, at.field("devices"))
    board = Board(
        name=board_name,
        description=string(doc["description"], at.field("description")),
        cpu=choice(doc["cpu"], at.field("cpu"), ("cortex-a9",)),
        cores=integer(doc["cores"], at.field("cores"), 1, MAX_CORES),
        ram=ram,
        ovm=ovm,
        periph_base=periph_base,
        gic_lines=_gic_lines(doc["gic_lines"], at.field("gic_lines")),
        private_timer_hz=integer(
            doc["private_timer_hz"], at.field("private_timer_hz"), 1, U32_MAX
        ),
        console=console,
        secondary_release=_optional_address(
            doc["secondary_release"], at.field("secondary_release")
        ),
        devices=devices,
        trustzone=trustzone,
    )
    if "linux" not in doc:
        return board
    return replace(board, linux=board_linux(doc["linux"], at.field("linux"), board.gic_lines))


def _devices(value: object, at: At, ram: Region, periph_base: int,
             console: Console) -> tuple[Device, ...]:
    """The board's devices a VM may be given, by name: whole 4 KiB pages, clear of
    RAM, of the Cortex-A9 private region and of OVM's console."""
    devices: list[Device] = []
    reserved = {
        "RAM": ram,
        "the private region": Region(periph_base & ~(MIB - 1), MIB),
        "the console": Region(console.base & ~(PAGE - 1), PAGE),
    }
    if not isinstance(value, dict):
        raise at.error("expected a mapping of device names to {base, size}")
    for name, item in value.items():
        item_at = at.field(name)
        if not VM_NAME.fullmatch(str(name)):
            raise item_at.error(f"{name!r} is not a valid device name (as a VM name)")
        doc = mapping(item, item_at, required=("base", "size"))
        region = Region(address(doc["base"], item_at.field("base"), PAGE),
                        size(doc["size"], item_at.field("size"), multiple_of=PAGE))
        for what, other in reserved.items():
            if region.overlaps(other):
                raise item_at.error(f"region {region} overlaps {what} ({other})")
        for device in devices:
            if region.overlaps(device.region):
                raise item_at.error(f"region {region} overlaps device {device.name!r}")
        if (region.base // MIB) != ((region.end - 1) // MIB):
            raise item_at.error(f"region {region} crosses a 1 MiB boundary")
        devices.append(Device(str(name), region))
    return tuple(devices)


def load_scenario(root: Path, name: str, board: Board) -> Scenario:
    """Load a scenario and place its VMs in `board`'s RAM."""
    file = scenario_file(root, name)
    known = available_scenarios(root)
    if name not in known:
        raise ConfigError(file, None, f"unknown scenario {name!r} (available: {_listing(known)})")
    at = At(file)
    doc = mapping(read_yaml(file), at, required=("description", "vms"),
                  optional=("scheduler", "console", "runtime"))
    description = string(doc["description"], at.field("description"))
    scheduler = (
        _scheduler(doc["scheduler"], at.field("scheduler")) if "scheduler" in doc
        else SchedConfig()
    )
    console = (
        _console_sharing(doc["console"], at.field("console")) if "console" in doc
        else ConsoleConfig()
    )

    vms_at = at.field("vms")
    items = sequence(doc["vms"], vms_at)
    if not items:
        raise vms_at.error("at least one VM is required")
    if len(items) > MAX_VMS:
        raise vms_at.error(f"{len(items)} VMs given, at most {MAX_VMS} are supported")
    runtime_at = at.field("runtime")
    runtime_items = sequence(doc.get("runtime", []), runtime_at)
    if len(items) + len(runtime_items) > MAX_VMS:
        raise runtime_at.error(
            f"{len(items)} VMs and {len(runtime_items)} run-time images given, at most "
            f"{MAX_VMS} together are supported (a run-time VM's id follows the VMs')"
        )
    guests = available_guests(root)
    requests: list[VmRequest] = []
    for index, item in enumerate(items):
        request = _vm_request(item, vms_at.item(index), board, scheduler, guests, root)
        for other_index, other in enumerate(requests):
            if other.name == request.name:
                raise request.at.field("name").error(
                    f"duplicate VM name {request.name!r} (also vms[{other_index}])"
                )
        requests.append(request)
    runtime = _runtime_requests(runtime_items, runtime_at, guests, root)
    for request in requests:
        for image in runtime:
            if request.name == RUNTIME_IMAGE_PREFIX + image.guest:
                raise request.at.field("name").error(
                    f"{request.name!r} is the name run-time image {image.guest!r} is built "
                    f"under ({RUNTIME_IMAGE_PREFIX}<guest>): choose another VM name"
                )
    vms, images = place_all(requests, runtime, board, vms_at)
    linux_vms = [index for index, vm in enumerate(vms) if vm.linux is not None]
    for index in linux_vms:
        check_placement(vms[index], vms_at.item(index))
    if len(linux_vms) > 1:
        raise vms_at.item(linux_vms[1]).error(
            f"a second Linux VM (also vms[{linux_vms[0]}]): a scenario has at most one, "
            "the host")
    check_sharing(vms, vms_at, board.private_timer_hz // 1_000_000)
    return Scenario(name=name, description=description, scheduler=scheduler, vms=vms,
                    console=console, runtime=images)


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


def _check_ovm_ns(ovm: Region, ram: Region, trustzone: TrustZone | None, at: At) -> None:
    non_secure = ovm_ns_area(ovm, trustzone)
    if not ram.contains(non_secure):
        after = "its region" if non_secure.base == ovm.end else "the secure granules holding it"
        raise at.error(
            f"OVM's non-secure area {non_secure} (the {format_size(OVM_NS_SIZE)} after {after}) "
            f"lies outside RAM ({ram})"
        )


def _trustzone(value: object, at: At, ram: Region, ovm: Region) -> TrustZone:
    """The board's TrustZone partition: which DDR granules stay secure (OVM's region must
    lie in them), the controls OVM writes at boot, and the register blocks no VM gets."""
    doc = mapping(value, at, required=_TRUSTZONE_KEYS, optional=_TRUSTZONE_OPTIONAL_KEYS)
    controller = TzController(choice(doc["controller"], at.field("controller"),
                                     [c.value for c in TzController]))
    granules_at = at.field("secure_ddr_granules")
    granules: list[int] = []
    for index, item in enumerate(sequence(doc["secure_ddr_granules"], granules_at)):
        item_at = granules_at.item(index)
        number = integer(item, item_at, 0, controller.ddr_granules - 1)
        if number in granules:
            raise item_at.error(f"granule {number} is listed twice")
        granules.append(number)
        region = Region(number * controller.ddr_granule, controller.ddr_granule)
        if not ram.contains(region):
            raise item_at.error(f"granule {number} ({region}) lies outside RAM ({ram})")
    partial = TrustZone(controller, tuple(granules))
    granule = controller.ddr_granule
    for number in range(ovm.base // granule, (ovm.end - 1) // granule + 1):
        if number not in granules:
            raise granules_at.error(
                f"OVM's region {ovm} lies in granule {number} ({partial.granule(number)}), "
                "which is not listed: OVM's memory would stay reachable from the non-secure world"
            )
    return TrustZone(
        controller=controller,
        secure_ddr_granules=tuple(granules),
        controls=_tz_controls(doc.get("controls", {}), at.field("controls"), controller),
        secure_only=_secure_only(doc.get("secure_only", {}), at.field("secure_only")),
    )


# The registers a zynq-7000 `controls` entry may write: the SLCR's TrustZone block and the
# NIC-301 address-region security registers (Zynq-7000 TRM, UG585, appendix B).
_ZYNQ_CONTROL_WINDOWS = (
    ("the SLCR's TrustZone registers", Region(0xF8000400, 0x100)),
    ("the nic301_addr_region_ctrl_registers", Region(0xE0200000, 0x1000)),
)
# Written by OVM itself from the rest of the block, never by a control.
_ZYNQ_MANAGED = {0xF8000430: "TZ_DDR_RAM, which OVM writes from secure_ddr_granules"}


def _tz_controls(value: object, at: At, controller: TzController) -> tuple[TzControl, ...]:
    if not isinstance(value, dict):
        raise at.error("expected a mapping of control names to {address, value}")
    controls: list[TzControl] = []
    for name, item in value.items():
        item_at = at.field(str(name))
        if not CONTROL_NAME.fullmatch(str(name)):
            raise item_at.error(
                f"{describe(name)} is not a valid control name (lower case, digits, _)"
            )
        doc = mapping(item, item_at, required=("address", "value"))
        where = address(doc["address"], item_at.field("address"), 4)
        if where in _ZYNQ_MANAGED:
            raise item_at.field("address").error(f"{where:#010x} is {_ZYNQ_MANAGED[where]}")
        if not any(window.base <= where < window.end for _, window in _ZYNQ_CONTROL_WINDOWS):
            windows = "; ".join(f"{what} {window}" for what, window in _ZYNQ_CONTROL_WINDOWS)
            raise item_at.field("address").error(
                f"{where:#010x} is not a TrustZone control of the {controller.value} ({windows})"
            )
        for other in controls:
            if other.address == where:
                raise item_at.field("address").error(
                    f"{where:#010x} is also control {other.name!r}"
                )
        controls.append(TzControl(str(name), where,
                                  integer(doc["value"], item_at.field("value"), 0, U32_MAX)))
    return tuple(controls)


def _secure_only(value: object, at: At) -> tuple[Device, ...]:
    if not isinstance(value, dict):
        raise at.error("expected a mapping of names to {base, size}")
    blocks: list[Device] = []
    for name, item in value.items():
        item_at = at.field(str(name))
        if not VM_NAME.fullmatch(str(name)):
            raise item_at.error(f"{describe(name)} is not a valid name (as a VM name)")
        doc = mapping(item, item_at, required=("base", "size"))
        blocks.append(Device(str(name), Region(
            address(doc["base"], item_at.field("base"), PAGE),
            size(doc["size"], item_at.field("size"), multiple_of=PAGE),
        )))
    return tuple(blocks)


def _check_devices_not_secure_only(devices: tuple[Device, ...], trustzone: TrustZone,
                                   at: At) -> None:
    for device in devices:
        for block in trustzone.secure_only:
            if device.region.overlaps(block.region):
                raise at.field(device.name).error(
                    f"region {device.region} overlaps {block.name!r} ({block.region}), which "
                    "trustzone.secure_only keeps for the secure world"
                )


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


def _scheduler(value: object, at: At) -> SchedConfig:
    doc = mapping(value, at, required=(), optional=_SCHEDULER_KEYS)
    default = SchedConfig()
    return SchedConfig(
        tick_us=integer(doc.get("tick_us", default.tick_us), at.field("tick_us"), 0, MAX_TICK_US),
        nrt_slice_us=integer(
            doc.get("nrt_slice_us", default.nrt_slice_us), at.field("nrt_slice_us"),
            10, MAX_PERIOD_US,
        ),
        min_period_us=integer(
            doc.get("min_period_us", default.min_period_us), at.field("min_period_us"),
            10, MAX_PERIOD_US,
        ),
    )


def _console_sharing(value: object, at: At) -> ConsoleConfig:
    doc = mapping(value, at, required=(), optional=_CONSOLE_KEYS)
    default = ConsoleConfig()
    per_round = doc.get("bytes_per_round", default.bytes_per_round)
    per_round_at = at.field("bytes_per_round")
    if isinstance(per_round, int) and per_round > CONSOLE_QUEUE:
        raise per_round_at.error(
            f"{per_round} exceeds the {CONSOLE_QUEUE} bytes OVM queues per VM "
            "(OVM_CONSOLE_QUEUE)"
        )
    return ConsoleConfig(
        round_us=integer(doc.get("round_us", default.round_us), at.field("round_us"),
                         *CONSOLE_ROUND_US),
        bytes_per_round=integer(per_round, per_round_at, 1, CONSOLE_QUEUE),
    )


@dataclass(frozen=True)
class VmFields:
    """What a VM's configuration says that a scenario's VM and a VM the host registers at
    run time share; checked alike for both (see lab/firmware/runtime.py)."""

    name: str
    level: Level
    cores: tuple[int, ...]
    realtime: RtParams | None
    args: tuple[int, ...]
    io: tuple[str, ...]


def vm_fields(
    doc: Mapping[str, object], at: At, board: Board, scheduler: SchedConfig, *, host: bool,
    privilege: Privilege = Privilege.USER,
) -> VmFields:
    """Check a VM mapping's name, level, cores, realtime, args and io (those present).

    `doc` has been checked for its keys (schema.mapping); `host` is whether the VM is
    the host and `privilege` where it runs, which decide the virtual devices it may have.
    """
    name = string(doc["name"], at.field("name"))
    if not VM_NAME.fullmatch(name):
        raise at.field("name").error(
            f"{name!r} is not a valid VM name (lower-case letter, then up to 15 of a-z, 0-9, _)"
        )
    level = Level(choice(doc["level"], at.field("level"), [level.value for level in Level]))
    cores = _vm_cores(doc["cores"], at.field("cores"), board)
    realtime = None
    if "realtime" in doc:
        if level is not Level.SRT:
            raise at.field("realtime").error(
                f"only SRT VMs have real-time parameters, VM {name!r} is {level.value}"
            )
        realtime = _realtime(doc["realtime"], at.field("realtime"), scheduler)
    return VmFields(
        name=name,
        level=level,
        cores=cores,
        realtime=realtime,
        args=_guest_args(doc.get("args", []), at.field("args"), board),
        io=_vm_io(doc.get("io", []), at.field("io"), name, level, host, privilege),
    )


def memory_size(value: object, at: At) -> int:
    """A VM's or a run-time image's memory size: whole MiB."""
    return size(value, at, multiple_of=MIB)


def _vm_request(
    value: object, at: At, board: Board, scheduler: SchedConfig, guests: list[str], root: Path
) -> VmRequest:
    doc = mapping(value, at, required=_VM_KEYS, optional=_VM_OPTIONAL_KEYS)
    if ("guest" in doc) == ("linux" in doc):
        raise at.error("a VM runs either a guest program (`guest`) or a Linux kernel "
                       "(`linux`): give exactly one")
    linux = (linux_kernel(doc["linux"], at.field("linux"), board, root.parent)
             if "linux" in doc else None)
    host = boolean(doc.get("host", False), at.field("host"))
    if linux is not None and host:
        linux = _linux_host(linux, at, board)
    privilege = _privilege(doc, at, linux=linux is not None)
    fields = vm_fields(doc, at, board, scheduler, host=host, privilege=privilege)
    if linux is not None and fields.level is not Level.NRT:
        raise at.field("level").error(
            f"a Linux VM is the NRT VM (fair share beside the real-time ones); "
            f"this one is {fields.level.value}")
    fpu = boolean(doc.get("fpu", linux is not None), at.field("fpu"))
    if linux is not None and not fpu:
        raise at.field("fpu").error("a Linux VM uses VFP/NEON (Debian's armhf user space does)")
    mem_size, mem_offset = _memory(doc["memory"], at.field("memory"))
    return VmRequest(
        name=fields.name,
        guest=_guest(doc["guest"], at.field("guest"), guests, root) if linux is None
        else "linux",
        level=fields.level,
        cores=fields.cores,
        size=mem_size,
        offset=mem_offset,
        at=at,
        realtime=fields.realtime,
        irqs=_vm_irqs(doc.get("irqs", []), at.field("irqs"), fields.name, len(fields.cores),
                      board) + _doorbell(linux, doc.get("irqs", []), at.field("irqs")),
        host=host,
        args=fields.args,
        devices=_vm_devices(doc.get("devices", []), at.field("devices"), fields.name,
                            fields.level, board, linux=linux is not None),
        io=fields.io,
        privilege=privilege,
        fpu=fpu,
        linux=linux,
    )


def _linux_host(linux: LinuxKernel, at: At, board: Board) -> LinuxKernel:
    """A Linux VM that is the host: it gets the board's doorbell line."""
    doorbell = board.linux.doorbell_irq if board.linux is not None else None
    if doorbell is None:
        raise at.field("host").error(
            f"board {board.name!r} names no doorbell_irq in its `linux:` entry: OVM has no "
            "line to tell a Linux host of its NRT guests' I/O requests, so Linux cannot be "
            "the host there")
    return replace(linux, doorbell_irq=doorbell)


def _doorbell(linux: LinuxKernel | None, listed: object, at: At) -> tuple[VmIrq, ...]:
    """The Linux host's doorbell, routed to it (vCPU 0) like the lines it lists itself."""
    if linux is None or linux.doorbell_irq is None:
        return ()
    if isinstance(listed, list) and linux.doorbell_irq in listed:
        raise at.error(f"interrupt {linux.doorbell_irq} is the board's doorbell_irq, which a "
                       "Linux host gets without asking: leave it out")
    return (VmIrq(linux.doorbell_irq, vcpu=0),)


def _privilege(doc: Mapping[str, object], at: At, *, linux: bool) -> Privilege:
    """Where the VM's guest runs: user mode unless an HRT VM is trusted with supervisor mode;
    a Linux kernel always runs there."""
    if linux:
        if doc.get("privilege", Privilege.KERNEL.value) != Privilege.KERNEL.value:
            raise at.field("privilege").error(
                "a Linux VM runs its kernel in supervisor mode (privilege: kernel)")
        return Privilege.KERNEL
    if "privilege" not in doc:
        return Privilege.USER
    privilege = Privilege(choice(doc["privilege"], at.field("privilege"),
                                 [p.value for p in Privilege]))
    level = doc.get("level")
    if privilege is Privilege.KERNEL and level != Level.HRT.value:
        raise at.field("privilege").error(
            f"only an HRT VM may run in supervisor mode (privilege: kernel), which trusts it "
            f"with all non-secure memory; this VM is {describe(level)}"
        )
    return privilege


def _guest(value: object, at: At, guests: list[str], root: Path) -> str:
    guest = string(value, at)
    if guest not in guests:
        raise at.error(
            f"unknown guest {guest!r}: no directory {display_path(root / 'guests' / guest)} "
            f"(available: {_listing(guests)})"
        )
    return guest


def _memory(value: object, at: At) -> tuple[int, int | None]:
    """{size, offset (optional)}: the size and the offset in RAM, if given."""
    memory = mapping(value, at, required=("size",), optional=("offset",))
    return (
        memory_size(memory["size"], at.field("size")),
        offset(memory["offset"], at.field("offset"), alignment=MIB) if "offset" in memory
        else None,
    )


def _runtime_requests(
    items: list[object], at: At, guests: list[str], root: Path
) -> list[RuntimeImageRequest]:
    """The guest programs the host may start at run time, each with the memory it runs in."""
    requests: list[RuntimeImageRequest] = []
    for index, item in enumerate(items):
        item_at = at.item(index)
        doc = mapping(item, item_at, required=_RUNTIME_KEYS)
        guest = _guest(doc["guest"], item_at.field("guest"), guests, root)
        if not VM_NAME.fullmatch(guest):
            raise item_at.field("guest").error(
                f"guest {guest!r} cannot be a run-time image: `register` names it as a VM "
                "name is spelled (lower-case letter, then up to 15 of a-z, 0-9, _)"
            )
        for other_index, other in enumerate(requests):
            if other.guest == guest:
                raise item_at.field("guest").error(
                    f"guest {guest!r} is listed twice (also runtime[{other_index}]): "
                    "`register` names a run-time image by its guest"
                )
        mem_size, mem_offset = _memory(doc["memory"], item_at.field("memory"))
        requests.append(
            RuntimeImageRequest(guest=guest, size=mem_size, offset=mem_offset, at=item_at)
        )
    return requests


def _vm_io(value: object, at: At, vm: str, level: Level, host: bool,
           privilege: Privilege) -> tuple[str, ...]:
    """Virtual devices the VM may reach by input/output (see io.py for who may have which)."""
    names: list[str] = []
    for index, item in enumerate(sequence(value, at)):
        item_at = at.item(index)
        name = string(item, item_at)
        if name not in IO_DEVICES:
            raise item_at.error(
                f"unknown device {name!r} for VM {vm!r} (devices: {_listing(list(IO_DEVICES))})"
            )
        if name in names:
            raise item_at.error(f"device {name!r} is listed twice for VM {vm!r}")
        refused = refusal(name, vm, level, host, privilege)
        if refused is not None:
            raise item_at.error(refused)
        names.append(name)
    return tuple(names)


def _vm_devices(value: object, at: At, vm: str, level: Level, board: Board, *,
                linux: bool = False) -> tuple[Device, ...]:
    """Devices passed through to the VM: only an HRT VM, or a Linux VM, touches a device
    directly."""
    devices = []
    for index, item in enumerate(sequence(value, at)):
        item_at = at.item(index)
        name = string(item, item_at)
        device = board.device(name)
        if device is None:
            names = [d.name for d in board.devices]
            raise item_at.error(
                f"board {board.name!r} has no device {name!r} (devices: {_listing(names)})")
        if level is not Level.HRT and not linux:
            raise item_at.error(
                f"device {name!r}: only HRT VMs are given devices to touch directly, "
                f"VM {vm!r} is {level.value} (its I/O goes through OVM)")
        if device in devices:
            raise item_at.error(f"device {name!r} is listed twice")
        devices.append(device)
        sections = {d.region.base // MIB for d in devices}
        if len(sections) > MAX_DEVICE_SECTIONS:
            raise item_at.error(
                f"VM {vm!r}'s devices lie in {len(sections)} 1 MiB sections; OVM maps at most "
                f"{MAX_DEVICE_SECTIONS} (OVM_MAX_DEVICE_SECTIONS)")
    return tuple(devices)


def _guest_args(value: object, at: At, board: Board) -> tuple[int, ...]:
    """Numbers, or ``{device: <name>}`` for the base address of a board device, so a
    scenario that hands a guest its device stays the same on every board."""
    items = sequence(value, at)
    if len(items) > MAX_GUEST_ARGS:
        raise at.error(f"at most {MAX_GUEST_ARGS} arguments (r2, r3), got {len(items)}")
    return tuple(_guest_arg(item, at.item(i), board) for i, item in enumerate(items))


def _guest_arg(value: object, at: At, board: Board) -> int:
    if not isinstance(value, dict):
        return integer(value, at, 0, U32_MAX)
    name = string(mapping(value, at, required=("device",))["device"], at.field("device"))
    device = board.device(name)
    if device is None:
        raise at.field("device").error(
            f"board {board.name!r} has no device {name!r} "
            f"(devices: {_listing([d.name for d in board.devices])})")
    return device.region.base


def _realtime(value: object, at: At, scheduler: SchedConfig) -> RtParams:
    doc = mapping(value, at, required=_REALTIME_KEYS)
    params = RtParams(**{
        key: integer(doc[key], at.field(key), 1, MAX_PERIOD_US) for key in _REALTIME_KEYS
    })
    if params.period_us < scheduler.min_period_us:
        raise at.field("period_us").error(
            f"{params.period_us} is below scheduler.min_period_us ({scheduler.min_period_us})"
        )
    if params.deadline_us > params.period_us:
        raise at.field("deadline_us").error(
            f"{params.deadline_us} exceeds period_us ({params.period_us})"
        )
    if params.budget_us > params.deadline_us:
        raise at.field("budget_us").error(
            f"{params.budget_us} exceeds deadline_us ({params.deadline_us})"
        )
    return params


def _vm_irqs(
    value: object, at: At, vm_name: str, vcpus: int, board: Board
) -> tuple[VmIrq, ...]:
    """Each item is an interrupt number (for vCPU 0) or {irq: N, vcpu: K}."""
    irqs = []
    for index, item in enumerate(sequence(value, at)):
        item_at = at.item(index)
        if isinstance(item, dict):
            doc = mapping(item, item_at, required=("irq",), optional=("vcpu",))
            irq = _irq(doc["irq"], item_at.field("irq"), board)
            vcpu = integer(doc.get("vcpu", 0), item_at.field("vcpu"), 0, U32_MAX)
            if vcpu >= vcpus:
                raise item_at.field("vcpu").error(
                    f"vCPU {vcpu} does not exist: VM {vm_name!r} has vCPUs 0..{vcpus - 1}"
                )
            irqs.append(VmIrq(irq, vcpu))
        elif isinstance(item, int) and not isinstance(item, bool):
            irqs.append(VmIrq(_irq(item, item_at, board), vcpu=0))
        else:
            raise item_at.error(
                f"expected an interrupt number or {{irq: N, vcpu: K}}, got {describe(item)}"
            )
    return tuple(irqs)


# OVM's own lines, which no VM may be routed, and what each is to OVM.
_OVM_LINES = {
    c_define(OVM_LINES_H, "OVM_LINE_EVENT_TIMER"):
        "OVM's event timer (the global timer's comparator: its tick and timer events)",
    c_define(OVM_LINES_H, "OVM_LINE_KICK"): "OVM's kick between cores",
}


def _irq(value: object, at: At, board: Board) -> int:
    irq = integer(value, at, 0, U32_MAX)
    if irq in _OVM_LINES:
        raise at.error(f"interrupt {irq} is {_OVM_LINES[irq]}: it cannot be routed to a VM")
    if irq < FIRST_PPI:
        raise at.error(f"interrupt {irq} is an SGI (0..{FIRST_PPI - 1}), which cannot be routed")
    if irq >= board.gic_lines:
        raise at.error(
            f"interrupt {irq} does not exist: board {board.name!r} has interrupts "
            f"{FIRST_PPI}..{board.gic_lines - 1}"
        )
    return irq


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

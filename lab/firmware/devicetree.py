"""A Linux VM's device tree, derived from the board's (Debian's DTB for it).

What the VM is told, not a fence: Linux runs at PL1 and can map any non-secure
address. The tree says what it may use, so that it leaves OVM's hardware alone:

- memory: the VM's region only;
- cpus: the VM's one core (``nosmp`` is not needed, there is nothing else to start);
- reserved memory outside the region (the board's video RAM) dropped;
- every node with interrupts, but the interrupt controller, keeps its
  ``status`` only if all its interrupts are the VM's; the others are
  ``disabled``. That takes away OVM's console, the watchdog, the PMU and the
  L2 controller, which OVM owns, and everything the scenario did not grant;
- the A9 private region's nodes without interrupts (the SCU) are disabled:
  the SCU is OVM's;
- ``chosen``: the command line and the initramfs' place;
- for the host, a node ``/ovm`` (compatible ``DOORBELL_COMPATIBLE``) whose one
  interrupt, edge-triggered, is the doorbell OVM pends when an NRT guest's I/O
  request waits: the OVM module's platform device;
- a ``/memreserve/`` entry for the tree's own place: the kernel keeps pointers into
  the flat tree for good, and ARM kernels do not reserve it themselves (boot loaders
  such as U-Boot add this entry).

Nodes without interrupts elsewhere (clocks, the motherboard's system registers,
flash) stay as they are: the UART's clocks come through them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import fdt

from .model import Region

GIC_COMPATIBLES = ("arm,cortex-a9-gic", "arm,gic-400", "arm,cortex-a15-gic")
# The GIC's interrupt specifier: <type number flags>; type 0 is an SPI, 1 a PPI.
GIC_SPI_BASE = 32
GIC_PPI_BASE = 16
PRIVATE_REGION_SIZE = 0x2000
# The OVM module (ovm/linux/module) binds to this node.
DOORBELL_COMPATIBLE = "ovm,doorbell"
DOORBELL_NODE = "ovm"
# The GIC binding's flags for a rising edge: the doorbell is a pended pulse, not a level.
_IRQ_TYPE_EDGE_RISING = 1


class DeviceTreeError(ValueError):
    """The board's device tree is not one this tool can derive a VM's from; says why."""


@dataclass(frozen=True)
class VmTree:
    """What goes into the VM's tree."""

    memory: Region
    core: int
    irqs: frozenset[int]
    bootargs: str
    initrd: Region
    periph_base: int
    # Where the tree itself is loaded.
    blob: Region
    # The host's doorbell line (a GIC SPI), or None for a Linux VM that is not the host.
    doorbell: int | None = None


@dataclass(frozen=True)
class TreeReport:
    """What the derivation did, for the build's log and the tests."""

    kept: tuple[str, ...]
    disabled: tuple[str, ...]


def parse(data: bytes, source: str) -> fdt.FDT:
    try:
        return fdt.parse_dtb(data)
    except Exception as err:  # the fdt package raises bare Exceptions on malformed input
        raise DeviceTreeError(f"{source}: not a device tree blob this tool can parse ({err})") from None


def derive(data: bytes, source: str, vm: VmTree) -> tuple[bytes, TreeReport]:
    """The VM's device tree blob from the board's, and what was kept and disabled."""
    tree = parse(data, source)
    _set_memory(tree, vm.memory, source)
    _keep_core(tree, vm.core, source)
    _drop_foreign_reservations(tree, vm.memory)
    report = _limit_devices(tree, vm)
    if vm.doorbell is not None:
        _add_doorbell(tree, vm.doorbell, source)
    chosen = "/chosen"
    if not tree.exist_node(chosen):
        tree.add_item(fdt.Node("chosen"), "/")
    tree.set_property("bootargs", vm.bootargs, path=chosen)
    tree.set_property("linux,initrd-start", vm.initrd.base, path=chosen)
    tree.set_property("linux,initrd-end", vm.initrd.end, path=chosen)
    tree.entries = [{"address": vm.blob.base, "size": vm.blob.size}]
    return tree.to_dtb(version=17), report


def _nodes(tree: fdt.FDT) -> Iterable[tuple[str, fdt.Node]]:
    for path, _nodes_at, _props in tree.walk():
        yield path, tree.get_node(path)


def _cells(node: fdt.Node, name: str) -> list[int]:
    prop = node.get_property(name)
    if prop is None:
        return []
    if not isinstance(prop, fdt.PropWords):
        raise DeviceTreeError(f"property {name} of {node.path}/{node.name} is not a list of cells")
    return list(prop.data)


def _strings(node: fdt.Node, name: str) -> list[str]:
    prop = node.get_property(name)
    return list(prop.data) if isinstance(prop, fdt.PropStrings) else []


def _set_memory(tree: fdt.FDT, memory: Region, source: str) -> None:
    memories = [path for path, node in _nodes(tree) if _strings(node, "device_type") == ["memory"]]
    if not memories:
        raise DeviceTreeError(f"{source}: no memory node (device_type = \"memory\")")
    for extra in memories[1:]:
        tree.remove_node(extra.rsplit("/", 1)[1], extra.rsplit("/", 1)[0] or "/")
    tree.set_property("reg", [memory.base, memory.size], path=memories[0])


def _keep_core(tree: fdt.FDT, core: int, source: str) -> None:
    if not tree.exist_node("/cpus"):
        raise DeviceTreeError(f"{source}: no /cpus node")
    cpus = tree.get_node("/cpus")
    names = [node.name for node in cpus.nodes if _strings(node, "device_type") == ["cpu"]]
    kept = [name for name in names if _cells(cpus.get_subnode(name), "reg")[:1] == [core]]
    if not kept:
        raise DeviceTreeError(f"{source}: /cpus has no cpu with reg = <{core}>")
    for name in names:
        if name not in kept:
            tree.remove_node(name, "/cpus")


def _drop_foreign_reservations(tree: fdt.FDT, memory: Region) -> None:
    """Reserved memory outside the VM's region (the board's video RAM) is not its to use."""
    if not tree.exist_node("/reserved-memory"):
        return
    node = tree.get_node("/reserved-memory")
    for child in list(node.nodes):
        reg = _cells(child, "reg")
        if len(reg) >= 2 and not memory.contains(Region(reg[0], reg[1])):
            tree.remove_node(child.name, "/reserved-memory")


def _phandles(tree: fdt.FDT) -> dict[int, tuple[str, fdt.Node]]:
    found = {}
    for path, node in _nodes(tree):
        for name in ("phandle", "linux,phandle"):
            value = _cells(node, name)
            if value:
                found[value[0]] = (path, node)
    return found


def _parent_path(path: str) -> str | None:
    if path == "/":
        return None
    head = path.rsplit("/", 1)[0]
    return head or "/"


def _interrupt_parent(tree: fdt.FDT, path: str, phandles: dict[int, tuple[str, fdt.Node]]
                      ) -> tuple[str, fdt.Node] | None:
    """The node a device's interrupts are specified against: its ``interrupt-parent``,
    or the nearest ancestor's, up to the first node with ``#interrupt-cells``."""
    current: str | None = path
    while current is not None:
        node = tree.get_node(current)
        parent = _cells(node, "interrupt-parent")
        if parent:
            target = phandles.get(parent[0])
            if target is None:
                return None
            if target[1].get_property("#interrupt-cells") is not None:
                return target
            current = target[0]
            continue
        current = _parent_path(current)
        if current is not None and tree.get_node(current).get_property("#interrupt-cells") is not None:
            return current, tree.get_node(current)
    return None


def _is_gic(node: fdt.Node) -> bool:
    return any(c in GIC_COMPATIBLES for c in _strings(node, "compatible"))


def _gic_line(spec: list[int]) -> int:
    kind, number = spec[0], spec[1]
    return number + (GIC_PPI_BASE if kind == 1 else GIC_SPI_BASE)


def _address_cells(tree: fdt.FDT, path: str) -> int:
    """#address-cells of the node at `path` (2 if absent, as the specification says)."""
    cells = _cells(tree.get_node(path), "#address-cells")
    return cells[0] if cells else 2


def _map_through(tree: fdt.FDT, nexus_path: str, nexus: fdt.Node, unit: list[int],
                 spec: list[int], phandles: dict[int, tuple[str, fdt.Node]],
                 depth: int = 0) -> list[int]:
    """GIC lines for one specifier against `nexus` (a GIC, or a node with interrupt-map)."""
    if _is_gic(nexus):
        return [_gic_line(spec)]
    table = _cells(nexus, "interrupt-map")
    if not table or depth > 8:
        return []
    addr_cells = _address_cells(tree, nexus_path) if nexus.get_property("#address-cells") else 0
    int_cells = _cells(nexus, "#interrupt-cells")[0]
    mask = _cells(nexus, "interrupt-map-mask") or [0xFFFFFFFF] * (addr_cells + int_cells)
    key = [value & m for value, m in zip((unit + [0] * addr_cells)[:addr_cells] + spec, mask)]
    at = 0
    while at < len(table):
        child = table[at:at + addr_cells + int_cells]
        at += addr_cells + int_cells
        parent_path, parent = phandles.get(table[at], (None, None))
        at += 1
        if parent is None or parent_path is None:
            return []
        parent_addr = (_cells(parent, "#address-cells") or [0])[0]
        parent_int = _cells(parent, "#interrupt-cells")[0]
        parent_unit = table[at:at + parent_addr]
        parent_spec = table[at + parent_addr:at + parent_addr + parent_int]
        at += parent_addr + parent_int
        if [v & m for v, m in zip(child, mask)] == key:
            return _map_through(tree, parent_path, parent, parent_unit, parent_spec, phandles,
                                depth + 1)
    return []


def interrupt_lines(tree: fdt.FDT, path: str, node: fdt.Node,
                    phandles: dict[int, tuple[str, fdt.Node]]) -> list[int] | None:
    """The GIC lines of a node's ``interrupts``; None if it has none or they cannot be
    resolved to the GIC."""
    spec_cells = _cells(node, "interrupts")
    if not spec_cells:
        return None
    parent = _interrupt_parent(tree, path, phandles)
    if parent is None:
        return None
    parent_path, parent_node = parent
    width = _cells(parent_node, "#interrupt-cells")[0]
    unit = _cells(node, "reg")
    lines: list[int] = []
    for at in range(0, len(spec_cells) - width + 1, width):
        lines += _map_through(tree, parent_path, parent_node, unit, spec_cells[at:at + width],
                              phandles)
    return lines or None


def _add_doorbell(tree: fdt.FDT, line: int, source: str) -> None:
    if line < GIC_SPI_BASE:
        raise DeviceTreeError(f"doorbell line {line} is no SPI (from {GIC_SPI_BASE} on)")
    phandle = [value for value, (_path, node) in _phandles(tree).items() if _is_gic(node)]
    if not phandle:
        raise DeviceTreeError(f"{source}: no GIC node with a phandle for the doorbell's "
                              "interrupt-parent")
    if tree.exist_node("/" + DOORBELL_NODE):
        raise DeviceTreeError(f"{source}: already has a node /{DOORBELL_NODE}")
    node = fdt.Node(DOORBELL_NODE)
    node.append(fdt.PropStrings("compatible", DOORBELL_COMPATIBLE))
    node.append(fdt.PropWords("interrupt-parent", phandle[0]))
    node.append(fdt.PropWords("interrupts", 0, line - GIC_SPI_BASE, _IRQ_TYPE_EDGE_RISING))
    tree.add_item(node, "/")


def _limit_devices(tree: fdt.FDT, vm: VmTree) -> TreeReport:
    phandles = _phandles(tree)
    kept: list[str] = []
    disabled: list[str] = []
    private = Region(vm.periph_base, PRIVATE_REGION_SIZE)
    for path, node in list(_nodes(tree)):
        if _is_gic(node) or node.get_property("interrupt-controller") is not None:
            continue
        if _strings(node, "status") == ["disabled"]:
            continue
        lines = interrupt_lines(tree, path, node, phandles)
        reg = _cells(node, "reg")
        in_private = (_parent_path(path) == "/" and len(reg) >= 2
                      and private.contains(Region(reg[0], max(reg[1], 1))))
        if lines is None and not in_private:
            continue
        if lines is not None and set(lines) <= vm.irqs:
            kept.append(path)
            continue
        tree.set_property("status", "disabled", path=path)
        disabled.append(path)
    return TreeReport(tuple(kept), tuple(disabled))

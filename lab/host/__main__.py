"""``python -m lab.host``: boot a scenario and drive its host guest's console.

Builds the scenario for the environment's board, boots it through labgrid
(the target's ``OVMStrategy``), waits for the host and runs the commands in
order, printing each answer. The host is the scenario's ``host: true`` VM: the
bare-metal host guest, driven over OVM's console (``ready`` line first), or a
Linux host, driven over its own console through ``/proc/ovm`` (the OVM module
loaded and ``ovm-hostd`` running first; scenario ``linux-proxy``, QEMU only).
The commands and their answers are the same for both:

  info                  VMs and vCPUs as OVM lists them (``info`` hypercall)
  register FILE         a VM in the scenario format (one mapping, YAML), started at
                        run time from one of the scenario's ``runtime`` images
  stats                 the host-proxied I/O requests the host has served

Example::

  python -m lab.host --scenario io-proxy info register late.yaml info
  python -m lab.host --scenario linux-proxy info register late.yaml stats

A VM file is checked with the build tooling's own rules before anything
boots; OVM checks it again and may still refuse it (admission on the cores
as they are then). Exit status: 0 when every command succeeded, 1 when OVM
refused a VM or the host did not answer, 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from labgrid import Environment
from labgrid.exceptions import NoConfigFoundError

from lab.firmware.build import build
from lab.firmware.errors import BuildError, ConfigError
from lab.firmware.loader import load_board, load_scenario
from lab.firmware.runtime import runtime_request
from lab.linux import LinuxUserError
from lab.linux.under_ovm import linux_under_ovm
from lab.paths import REPO_ROOT, default_lg_env
from lab.target.strategy import StrategyError
from lab.target.transcript import ConsoleTimeout

from .console import HostConsole, HostError, HostInfo, HostInterface
from .linux import LinuxHostConsole

DEFAULT_SCENARIO = "io-proxy"
# The bare-metal host program (ovm/guests/host), whose console this drives.
HOST_GUEST = "host"
DEFAULT_LOG = REPO_ROOT / "reports" / "out" / "host" / "console.log"
READY_TIMEOUT_S = 30.0
# A Linux host boots to its shell first: minutes on a loaded machine.
LINUX_READY_TIMEOUT_S = 240.0


class UsageError(Exception):
    """The command line or a VM file is wrong; nothing was booted."""


@dataclass(frozen=True)
class Command:
    verb: str
    vm: dict[str, Any] | None = None
    source: Path | None = None


def parse_commands(words: Sequence[str]) -> list[Command]:
    """The command words as commands, each ``register`` with its VM file read."""
    commands: list[Command] = []
    rest = iter(words)
    for word in rest:
        if word in ("info", "stats"):
            commands.append(Command(word))
        elif word == "register":
            path = next(rest, None)
            if path is None:
                raise UsageError("register needs a VM file (YAML, one VM in the scenario format)")
            commands.append(Command(word, _vm_file(Path(path)), Path(path)))
        else:
            raise UsageError(f"unknown command {word!r} (commands: info, register FILE, stats)")
    if not commands:
        raise UsageError("no command given (commands: info, register FILE, stats)")
    return commands


def _vm_file(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise UsageError(f"{path}: not YAML: {error}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected one VM as a mapping (name, guest, level, ...)")
    return doc


def print_info(info: HostInfo) -> None:
    print(f"{'id':>3}  {'name':<16} {'level':<5} {'cores':<6} {'memory':<24} {'io':<5} run-time")
    for vm in info.vms:
        memory = f"0x{vm.mem_base:08x}+0x{vm.mem_size:x}"
        print(f"{vm.id:>3}  {vm.name:<16} {vm.level:<5} {vm.core_mask:<#6x} {memory:<24} "
              f"{vm.io:<#5x} {'yes' if vm.registered else 'no'}")
    for vcpu in info.vcpus:
        print(f"     vcpu {vcpu.index}: vm {vcpu.vm} #{vcpu.id} on core {vcpu.core}, {vcpu.state}, "
              f"{vcpu.jobs} jobs, {vcpu.misses} misses")


def run_commands(host: HostInterface, commands: Sequence[Command]) -> int:
    """Each command in turn; 1 if OVM refused a VM, else 0."""
    status = 0
    for command in commands:
        print(f"[host] {command.verb}" + (f" {command.source}" if command.source else ""),
              flush=True)
        if command.verb == "info":
            print_info(host.info())
        elif command.verb == "stats":
            stats = host.stats()
            print(f"served {stats.served} requests ({stats.writes} writes, {stats.errors} errors)")
        else:
            assert command.vm is not None
            try:
                print(f"registered as VM {host.register(command.vm)}")
            except HostError as refused:
                print(f"refused: {refused}")
                status = 1
    return status


def _check_requests(commands: Sequence[Command], board_name: str, scenario_name: str) -> bool:
    """Check every VM file against the scenario; returns whether its host is a Linux VM."""
    ovm = REPO_ROOT / "ovm"
    board = load_board(ovm, board_name)
    scenario = load_scenario(ovm, scenario_name, board)
    hosts = [vm for vm in scenario.vms if vm.host and (vm.linux is not None or vm.guest == HOST_GUEST)]
    if not hosts:
        raise UsageError(f"scenario {scenario_name} has no host to drive: no VM with host: "
                         f"true runs the {HOST_GUEST!r} guest or Linux")
    for command in commands:
        if command.vm is not None:
            try:
                runtime_request(command.vm, board, scenario)
            except ConfigError as error:
                raise UsageError(f"{command.source}: {error}") from None
    return hosts[0].linux is not None


def _keep_log(strategy: Any, log: Path) -> None:
    if strategy.transcript is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(strategy.transcript.text, encoding="utf-8")
        print(f"[host] console log: {log}", flush=True)


@contextmanager
def booted(env_file: Path, scenario: str, log: Path, *, linux: bool = False
           ) -> Iterator[HostInterface]:
    """The scenario booted on the environment's target, its host ready; off afterwards,
    with OVM's whole console (every guest's lines too) kept in ``log`` and, for a Linux
    host, Linux's console beside it (``<log>.linux``)."""
    env = Environment(str(env_file))
    try:
        target = env.get_target("main")
        board = env.config.get_option("ovm_board")
        strategy = target.get_driver("OVMStrategy")
        print(f"[host] building scenario {scenario} for {board}", flush=True)
        if linux:
            print(f"[host] booting it on target 'main' of {env_file}, then Linux to its shell",
                  flush=True)
            linux_log = log.with_name(log.name + ".linux")
            with linux_under_ovm(target, board, scenario, boot_s=LINUX_READY_TIMEOUT_S,
                                 transcript=linux_log) as (ovm, shell):
                try:
                    host: HostInterface = LinuxHostConsole(ovm, shell)
                    host.wait_ready(LINUX_READY_TIMEOUT_S)
                    yield host
                finally:
                    _keep_log(ovm, log)
                    print(f"[host] Linux's console: {linux_log}", flush=True)
            return
        strategy.select_image(build(board, scenario, repo_root=REPO_ROOT).elf)
        print(f"[host] booting it on target 'main' of {env_file}", flush=True)
        strategy.transition("ovm")
        try:
            host = HostConsole(strategy)
            host.wait_ready(READY_TIMEOUT_S)
            yield host
        finally:
            _keep_log(strategy, log)
            strategy.transition("off")
    finally:
        env.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.host", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lg-env", type=Path, default=default_lg_env())
    parser.add_argument("--scenario", default=DEFAULT_SCENARIO,
                        help=f"a scenario with a host VM (default: {DEFAULT_SCENARIO})")
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG,
                        help="where the console goes (default: reports/out/host/console.log)")
    parser.add_argument("commands", nargs="+", metavar="COMMAND",
                        help="info | register FILE | stats, in the order to run them")
    args = parser.parse_args(argv)
    try:
        commands = parse_commands(args.commands)
        env = Environment(str(args.lg_env))
        board = env.config.get_option("ovm_board")
        env.cleanup()
        linux = _check_requests(commands, board, args.scenario)
    except (UsageError, ConfigError) as error:
        print(f"[host] {error}", file=sys.stderr)
        return 2
    except NoConfigFoundError as error:
        print(f"[host] labgrid environment {args.lg_env}: {error.msg} (--lg-env, or the LG_ENV "
              "variable)", file=sys.stderr)
        return 2
    try:
        with booted(args.lg_env, args.scenario, args.log, linux=linux) as host:
            return run_commands(host, commands)
    except BuildError as error:
        print(f"[host] {error}", file=sys.stderr)
        return 2
    except (StrategyError, ConsoleTimeout, HostError, LinuxUserError) as error:
        print(f"[host] {error.__cause__ or error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

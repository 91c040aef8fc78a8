"""A guest program built to run without OVM: the baseline of the evaluation.

The program's source is the same as the guest's; only the platform layer
differs (``ovm/guests/lib/native/``). The board file supplies what OVM would
have told the guest (timer clock, private region, console), and the image is
linked where OVM's own image would go, so the board loads it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .build import Runner, _expect_outputs, run_command
from .buildid import build_id
from .codegen import CONSOLE_DRIVER_SOURCE
from .errors import BuildError
from .loader import available_guests, load_board

NATIVE_DIR = "native"


@dataclass(frozen=True)
class NativeBuild:
    elf: Path
    bin: Path


def native_defines(board, program: str, args: Sequence[int], build: str) -> list[str]:
    """The C defines that stand in for OVM's platform hypercall and the scenario's args."""
    arg0, arg1 = (list(args) + [0, 0])[:2]
    return [
        f"-DNATIVE_TIMER_HZ={board.private_timer_hz}u",
        f"-DNATIVE_PERIPH_BASE=0x{board.periph_base:08x}u",
        f"-DNATIVE_UART_BASE=0x{board.console.base:08x}u",
        f"-DNATIVE_UART_CLOCK_HZ={board.console.clock_hz}u",
        f"-DNATIVE_UART_BAUD={board.console.baud}u",
        f"-DNATIVE_ARG0={arg0}",
        f"-DNATIVE_ARG1={arg1}",
        f'-DNATIVE_PROGRAM=\\"{program}\\"',
        f'-DNATIVE_BOARD=\\"{board.name}\\"',
        f'-DNATIVE_BUILD=\\"{build}\\"',
    ]


def build_native(
    board_name: str,
    program: str,
    args: Sequence[int] = (),
    *,
    repo_root: Path,
    build_root: Path | None = None,
    jobs: int = 2,
    run: Runner = run_command,
) -> NativeBuild:
    """Build ``ovm/guests/<program>`` for ``board_name`` with no OVM underneath."""
    repo_root = repo_root.resolve()
    ovm_root = repo_root / "ovm"
    board = load_board(ovm_root, board_name)
    if program not in available_guests(ovm_root):
        raise BuildError(
            f"no guest program {program!r} in {ovm_root / 'guests'} "
            f"(available: {', '.join(available_guests(ovm_root))})"
        )
    if len(args) > 2:
        raise BuildError(f"a guest program takes at most 2 arguments, got {list(args)}")
    out_dir = (build_root or repo_root / "build").resolve() / board.name / NATIVE_DIR / program
    print(f"[firmware] board={board.name} native {program}: building", flush=True)
    defines = native_defines(board, program, args, build_id(repo_root))
    command = [
        "make", "-C", str(ovm_root / "guests"),
        f"GUEST={program}",
        f"NAME={program}",
        f"LOAD_ADDR=0x{board.ovm.base:08x}",
        f"OUT_DIR={out_dir}",
        "PLATFORM=native",
        f"UART_DRIVER={CONSOLE_DRIVER_SOURCE[board.console.driver]}",
        "NATIVE_DEFS=" + " ".join(defines),
        f"-j{jobs}",
    ]
    run(command)
    result = NativeBuild(elf=out_dir / f"{program}.elf", bin=out_dir / f"{program}.bin")
    _expect_outputs(command, [result.elf, result.bin])
    return result

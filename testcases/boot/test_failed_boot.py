"""A boot that never reaches OVM's banner fails fast, with the console log, and
leaves no QEMU behind. The image is a few instructions that print and hang,
standing in for a broken OVM build."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from labgrid import Environment
from labgrid.strategy import StrategyError

from lab.target.strategy import BootError

pytestmark = pytest.mark.qemu

BOOT_TIMEOUT_S = 3.0
NOISE = "early boot noise, then a hang"


def build_hanging_image(tmp_path: Path) -> Path:
    source = tmp_path / "hang.S"
    source.write_text(
        textwrap.dedent(
            f"""\
            .global _start
            _start:
                mrc p15, 0, r0, c0, c0, 5   @ park core 1
                ands r0, r0, #0xff
                bne park
                ldr r1, =0x10009000          @ PL011 data register
                adr r2, message
            next:
                ldrb r3, [r2], #1
                cmp r3, #0
                strne r3, [r1]
                bne next
            park:
                wfi
                b park
            message:
                .asciz "{NOISE}\\r\\n"
            """
        )
    )
    image = tmp_path / "hang.elf"
    subprocess.run(
        ["arm-none-eabi-gcc", "-nostdlib", "-mcpu=cortex-a9", "-Wl,-Ttext=0x60000000",
         str(source), "-o", str(image)],
        check=True,
    )
    return image


def test_missing_banner_fails_with_console_log_and_stops_qemu(tmp_path, repo_root):
    image = build_hanging_image(tmp_path)
    qemu_env = (repo_root / "env" / "qemu.yaml").read_text()
    config = tmp_path / "hang.yaml"
    config.write_text(
        qemu_env.replace("boot_timeout: 30", f"boot_timeout: {BOOT_TIMEOUT_S}")
        .replace("../build/qemu-vexpress-a9/default/ovm.elf", str(image))
    )
    env = Environment(str(config))
    try:
        target = env.get_target("main")
        strategy = target.get_driver("OVMStrategy")
        qemu = target.get_driver("QEMUDriver", activate=False)
        started = time.monotonic()
        with pytest.raises(StrategyError) as failure:
            strategy.transition("ovm")
        elapsed = time.monotonic() - started
        boot_error = failure.value.__cause__
        assert isinstance(boot_error, BootError)
        assert "OVM's boot banner: not seen within 3.0 s" in str(boot_error)
        assert NOISE in str(boot_error)
        assert elapsed < BOOT_TIMEOUT_S + 10
        assert qemu.status == 0, "QEMU still running after the failed boot"
    finally:
        env.cleanup()

"""``python -m lab.host``: a VM file is checked before anything boots; on the target the
commands run in order against the host guest, and the console is kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENV = REPO / "env" / "qemu.yaml"


def run_host(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lab.host", "--lg-env", str(ENV), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def vm_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vm.yaml"
    path.write_text(text)
    return path


def test_unknown_command_is_refused():
    done = run_host("reboot")
    assert done.returncode == 2
    assert "unknown command 'reboot'" in done.stderr


def test_a_bad_vm_file_is_refused_before_anything_boots(tmp_path):
    path = vm_file(tmp_path, "name: late\nguest: nosuch\nlevel: NRT\ncores: [1]\n"
                             "memory: {size: 4M}\n")
    done = run_host("info", "register", str(path))
    assert done.returncode == 2
    assert "nosuch" in done.stderr and "hello" in done.stderr  # the images it may use
    assert "booting" not in done.stdout


def test_a_file_that_is_no_mapping_is_refused(tmp_path):
    done = run_host("register", str(vm_file(tmp_path, "- just\n- a list\n")))
    assert done.returncode == 2
    assert "expected one VM as a mapping" in done.stderr


def test_a_scenario_without_a_host_is_refused():
    # paper-eval's host: true VM runs the NRT probe; linux-host's Linux is not the host.
    for scenario in ("paper-eval", "linux-host"):
        done = run_host("--scenario", scenario, "info")
        assert done.returncode == 2
        assert "has no host to drive" in done.stderr


@pytest.mark.lab
# The Linux host's commands are in make test through test_io_host; booting Linux once
# more for the command line is make test-long's.
@pytest.mark.parametrize("scenario", ["io-proxy",
                                      pytest.param("linux-proxy", marks=pytest.mark.long)],
                         ids=["bare-metal host", "linux host"])
def test_info_register_info_on_the_target(tmp_path, target, scenario):
    path = vm_file(tmp_path, "name: late\nguest: hello\nlevel: NRT\ncores: [1]\n"
                             "memory: {size: 4M}\n")
    log = tmp_path / "console.log"
    done = run_host("--scenario", scenario, "--log", str(log), "info", "register", str(path),
                    "info", "stats")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "registered as VM" in done.stdout
    late = [line for line in done.stdout.splitlines() if " late " in line]
    assert len(late) == 1 and late[0].rstrip().endswith("yes")
    assert "[late] vcpu0 of 1 running non-secure on core 1" in log.read_text()
    served = [line for line in done.stdout.splitlines() if line.startswith("served ")]
    assert len(served) == 1 and int(served[0].split()[1]) > 0

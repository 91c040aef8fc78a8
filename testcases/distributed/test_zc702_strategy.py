"""The ZC702 environments and ``ZC702Strategy``.

The environment files are checked with labgrid's own loaders: the client
environment with ``Config``/``Environment``, the exporter configuration with
the exporter's ``ResourceConfig`` and export classes; and what the exporter
would publish is bound to the client environment's drivers.

The strategy's state machine runs against ``ScriptedZC702``, **a scripted
stand-in for the board** on a pty (U-Boot's dialogue, then a banner), through
real labgrid drivers configured as in ``env/zc702-remote.yaml``. No ZC702 is
attached here: what a real board does after ``go`` is not tested by this file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from labgrid import Environment
from labgrid.exceptions import InvalidConfigError
from labgrid.strategy import StrategyError
from zc702_standin import (
    REMOTE_ENV,
    ScriptedZC702,
    native_banner,
    native_image,
    ovm_banner,
    records,
    standin_env,
    zc702_image,
)

from lab.target.strategy import BootError, OVMStrategy

REPO_ROOT = Path(__file__).resolve().parents[2]
EXPORTER_CONFIG = REPO_ROOT / "env" / "zc702-exporter.yaml"
LOAD_ADDRESS = "0x10000000"


# -- the environment files -------------------------------------------------------------


def test_remote_environment_loads_with_labgrid(monkeypatch):
    from labgrid.config import Config
    from labgrid.factory import target_factory

    monkeypatch.setenv("LG_PLACE", "zc702-1")
    env = Environment(str(REMOTE_ENV))  # also imports lab.target.strategy and lab.target.zc702
    main = env.config.get_targets()["main"]
    assert main["features"] == ["zc702"]
    resources, drivers = target_factory.normalize_config(main)
    assert list(resources) == ["RemotePlace"]
    assert list(resources["RemotePlace"]) == ["zc702-1"]  # keyed by its name
    assert list(drivers) == ["SerialDriver", "NetworkPowerDriver", "UBootDriver",
                             "TFTPProviderDriver", "ZC702Strategy"]
    for driver in drivers:
        assert driver in target_factory.drivers
    uboot = drivers["UBootDriver"][None][0]
    assert uboot["prompt"] == "Zynq> " and "stop autoboot" in uboot["autoboot"]
    assert env.config.get_option("ovm_board") == "zc702"
    image = Path(os.path.normpath(env.config.get_image_path("ovm")))
    assert image == REPO_ROOT / "build/zc702/default/ovm.bin"

    monkeypatch.delenv("LG_PLACE")
    with pytest.raises(InvalidConfigError, match="LG_PLACE"):
        Config(str(REMOTE_ENV))


@pytest.mark.filterwarnings("ignore:ser2net binary not found")
def test_exporter_configuration_fits_the_client_environment(tmp_path, monkeypatch, capsys):
    """Load the exporter file as ``labgrid-exporter`` does, make each resource's
    export, and bind what clients would receive to the client environment's drivers."""
    from labgrid.remote.common import ResourceEntry
    from labgrid.remote.config import ResourceConfig
    from labgrid.remote.exporter import ResourceExport, exports
    from labgrid.util.yaml import load

    config = ResourceConfig(str(EXPORTER_CONFIG), {"env": os.environ, "isolated": False,
                                                   "hostname": "labhost", "name": "labhost"})
    capsys.readouterr()  # ResourceConfig pretty-prints what it loaded
    assert sorted(config.data) == ["zc702-1", "zc702-2"]
    for group_name, group in config.data.items():
        assert set(group) == {"location", "USBSerialPort", "NetworkPowerPort", "TFTPProvider"}
        exported = {}
        for name, params in group.items():
            if name == "location":
                continue
            params = dict(params)
            cls = params.pop("cls", name)
            export_cls = exports.get(cls, ResourceEntry)
            entry_config = {"avail": export_cls is ResourceEntry, "cls": cls, "params": params}
            if issubclass(export_cls, ResourceExport):
                entry = export_cls(entry_config, host="labhost", proxy="labhost",
                                   proxy_required=False)
                entry.poll()  # no board plugged in here: the serial port is unavailable
            else:
                entry = export_cls(entry_config)
            exported[entry.cls] = entry.args
        assert set(exported) == {"NetworkSerialPort", "NetworkPowerPort", "RemoteTFTPProvider"}
        assert exported["RemoteTFTPProvider"]["external"] == f"{group_name}/"
        assert exported["RemoteTFTPProvider"]["internal"] == f"/srv/tftp/{group_name}/"

        # The client side: the drivers of env/zc702-remote.yaml on these resources.
        remote = load(REMOTE_ENV.read_text())
        client = {
            "targets": {"main": {
                "features": ["zc702"],
                "resources": [{cls: dict(args)} for cls, args in exported.items()],
                "drivers": {name: dict(value or {}) for name, value in
                            remote["targets"]["main"]["drivers"].items()},
            }},
            "options": {"ovm_board": "zc702"},
            "images": {"ovm": str(REPO_ROOT / "build/zc702/default/ovm.bin")},
            "imports": ["lab.target.strategy", "lab.target.zc702"],
        }
        env_file = tmp_path / f"{group_name}.yaml"
        env_file.write_text(yaml.safe_dump(_plain(client)))
        env = Environment(str(env_file))
        target = env.get_target("main")
        strategy = target.get_driver("OVMStrategy", activate=False)
        assert type(strategy).__name__ == "ZC702Strategy"
        assert strategy.tftp.provider.external == f"{group_name}/"
        assert type(strategy.power).__name__ == "NetworkPowerDriver"
        assert strategy.load_address == 0x10000000  # from ovm/board/zc702/board.yaml
        target.cleanup()


def _plain(data):
    from collections import UserString

    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return str(data) if isinstance(data, UserString) else data


# -- the strategy against the scripted stand-in ------------------------------------------------


@pytest.fixture
def standin(tmp_path):
    """A ScriptedZC702 (a scripted stand-in, not a board) and a labgrid target driving it."""
    opened = []

    def make(*, image: Path, boot_timeout: float = 3.0, login_timeout: int = 3, **board_options):
        tftp_root = tmp_path / "tftp"
        tftp_root.mkdir(exist_ok=True)
        board = ScriptedZC702(tftp_root=tftp_root, control=tmp_path / "power", **board_options)
        env_file = standin_env(tmp_path / "standin.yaml", board, image=image,
                               boot_timeout=boot_timeout, login_timeout=login_timeout)
        env = Environment(str(env_file))
        target = env.get_target("main")
        opened.append((env, board))
        return board, target, target.get_driver("OVMStrategy")

    yield make
    for env, board in opened:
        env.cleanup()
        board.close()


def test_off_to_ovm_through_uboot_stages_the_built_ovm_bin(standin, tmp_path):
    image = zc702_image("default")
    board, target, strategy = standin(image=image)
    board.register(image.read_bytes(), ovm_banner("default"))
    assert isinstance(strategy, OVMStrategy)  # what the fixtures and lab.run ask for

    strategy.transition("off")
    assert board.settle().power_events == ["off"] and not board.settle().powered
    started = time.monotonic()
    strategy.transition("ovm")
    elapsed = time.monotonic() - started

    banner = strategy.banner
    assert (banner.board, banner.scenario, banner.cores_up, banner.cores) == ("zc702", "default", 2, 2)
    staged = tmp_path / "tftp" / "zc702-standin" / "ovm.bin"
    assert staged.read_bytes() == image.read_bytes(), "what U-Boot can fetch is the built ovm.bin"
    assert board.loaded[0x10000000] == image.read_bytes(), "U-Boot fetched the built ovm.bin"
    assert strategy.staged == (image, "zc702-standin/ovm.bin")
    ran = [part.strip() for c in board.commands for part in c.split(";")]
    assert f"tftpboot {LOAD_ADDRESS} zc702-standin/ovm.bin" in ran
    assert board.commands[-1] == f"go {LOAD_ADDRESS}"
    assert ran.index("dhcp") < ran.index(f"tftpboot {LOAD_ADDRESS} zc702-standin/ovm.bin")
    assert board.started == [0x10000000]
    assert board.settle().power_events == ["off", "off", "on"], "a power cycle before U-Boot"
    log = strategy.transcript.text
    assert "Hit any key to stop autoboot" in log and "Zynq> " in log, "U-Boot's part is kept"
    assert log.index("## Starting application at 0x10000000") < log.index("OVM 0.2.0 board=zc702")
    assert elapsed < 5

    strategy.transition("off")
    assert board.settle().power_events[-1] == "off" and not board.settle().powered
    assert "OVM 0.2.0 board=zc702 scenario=default" in strategy.console_log


def test_select_image_maps_elf_to_bin_for_scenarios_and_native(standin, tmp_path):
    """As ``conftest.boot_scenario`` and the evaluation call it: ``select_image(elf)``."""
    default, other, native = zc702_image("default"), zc702_image("paper-eval"), native_image()
    board, target, strategy = standin(image=default)
    board.register(default.read_bytes(), ovm_banner("default"))
    board.register(other.read_bytes(), ovm_banner("paper-eval"))
    board.register(native.read_bytes(), native_banner("latency"))
    staged = tmp_path / "tftp" / "zc702-standin"

    strategy.select_image(other.with_suffix(".elf"))
    strategy.transition("ovm")
    assert strategy.banner.scenario == "paper-eval"
    assert (staged / "ovm.bin").read_bytes() == other.read_bytes()

    strategy.select_image(native.with_suffix(".elf"))
    assert strategy.status.name == "off", "a new image powers the board off"
    strategy.transition("native")
    assert strategy.native_banner.program == "latency"
    assert (staged / "latency.bin").read_bytes() == native.read_bytes()
    assert board.commands[-1] == f"go {LOAD_ADDRESS}" and board.loaded[0x10000000] == native.read_bytes()

    strategy.select_image(None)  # back to the environment's own image
    strategy.transition("ovm")
    assert strategy.banner.scenario == "default"
    assert board.loaded[0x10000000] == default.read_bytes()
    strategy.transition("off")
    assert not board.settle().powered


def test_an_evaluation_experiment_runs_unchanged_on_the_board_strategy(standin, tmp_path):
    """``lab.evaluation.experiments.run_experiment`` (what ``make lab`` runs per
    experiment) builds the native latency probe for zc702 and boots it here."""
    from lab.evaluation.experiments import experiment, run_experiment

    native_image()  # built once beforehand; run_experiment builds it again (up to date)
    board, target, strategy = standin(image=zc702_image("default"))
    samples = [12, 13, 12, 14] * 8
    board.default_output = (native_banner("latency")
                            + "latency probe: private timer every 100 us, 32 samples\n"
                            + records("irq_latency.direct", samples) + "latency probe: done\n")

    result = run_experiment(experiment("native"), strategy, "zc702", REPO_ROOT, tmp_path,
                            progress=lambda line: None)
    assert result.build == "standin"
    assert result.samples("irq_latency.direct").tolist() == samples
    assert "Hit any key to stop autoboot" in (tmp_path / "native.log").read_text()
    assert board.fetched[-1] == (0x10000000, native_image().read_bytes())
    assert board.commands[-1] == f"go {LOAD_ADDRESS}"
    assert strategy.status.name == "off" and not board.settle().powered


def test_uboot_that_never_prompts_fails_with_console_log_and_power_off(standin):
    image = zc702_image("default")
    board, target, strategy = standin(image=image, login_timeout=1, uboot_hangs=True)
    started = time.monotonic()
    with pytest.raises(StrategyError) as failure:
        strategy.transition("ovm")
    elapsed = time.monotonic() - started
    error = failure.value.__cause__
    assert isinstance(error, BootError)
    message = str(error)
    assert message.startswith("U-Boot's prompt /Zynq> / not seen within 1 s after power-on")
    assert "console log" in message and "U-Boot SPL 2023.01 (scripted ZC702 stand-in)" in message
    assert "Trying to boot from MMC1" in strategy.console_log
    assert not any(c.startswith("go") for c in board.commands) and not board.fetched
    assert board.settle().power_events[-1] == "off" and not board.settle().powered, "the board is left off"
    assert elapsed < 8


def test_banner_that_never_comes_fails_with_console_log_and_power_off(standin):
    image = zc702_image("default")
    board, target, strategy = standin(image=image, boot_timeout=1.0)  # nothing registered: a hang
    with pytest.raises(StrategyError) as failure:
        strategy.transition("ovm")
    error = failure.value.__cause__
    assert isinstance(error, BootError)
    message = str(error)
    assert message.startswith(f"OVM's boot banner: not seen within 1.0 s after `go {LOAD_ADDRESS}` "
                              f"({image})")
    assert "## Starting application at 0x10000000 ..." in message
    assert "Bytes transferred = " in message, "U-Boot's part is in the log"
    assert board.fetched == [(0x10000000, image.read_bytes())]
    assert board.settle().power_events[-1] == "off" and not board.settle().powered


def test_failed_tftpboot_is_reported_with_uboot_output(standin, tmp_path):
    image = zc702_image("default")
    board, target, strategy = standin(image=image)
    board.tftp_root = tmp_path / "another-root"  # the TFTP server serves another directory
    with pytest.raises(StrategyError) as failure:
        strategy.transition("ovm")
    message = str(failure.value.__cause__)
    assert message.startswith(f"`tftpboot {LOAD_ADDRESS} zc702-standin/ovm.bin` failed with exit code 1")
    assert "TFTP error: 'File not found' (1)" in message
    assert not any(c.startswith("go") for c in board.commands)
    assert not board.settle().powered


def test_missing_raw_image_fails_before_powering_the_board(standin, tmp_path):
    board, target, strategy = standin(image=zc702_image("default"))
    strategy.select_image(tmp_path / "nowhere" / "ovm.elf")
    with pytest.raises(StrategyError) as failure:
        strategy.transition("ovm")
    assert "no raw image" in str(failure.value.__cause__)
    assert "on" not in board.settle().power_events

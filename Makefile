# OVM Lab. The two commands a newcomer needs:
#   make lab    set up, build, boot OVM on QEMU and report
#   make test   set up, build, run every test
# Each target runs env/setup.sh first, which installs only what is missing.

BOARD ?= qemu-vexpress-a9
SCENARIO ?= default
BOARDS := qemu-vexpress-a9 zc702
LG_ENV ?= env/qemu.yaml
JOBS ?= 2
PYTEST_ARGS ?=
NIGHTLY_ARGS ?=
# e.g. LG_ENV=env/zc702-remote.yaml LAB_ARGS="--fallback-qemu --acquire-timeout 60 --health-check"
LAB_ARGS ?=

PY := .venv/bin/python

.PHONY: all setup firmware firmware-all lab nightly test test-long lint debug check-config clean

all: firmware

setup:
	@env/setup.sh

firmware: setup
	$(PY) -m lab.firmware build --board $(BOARD) --scenario $(SCENARIO) --jobs $(JOBS)

firmware-all: setup
	@for board in $(BOARDS); do \
		$(PY) -m lab.firmware build --board $$board --scenario $(SCENARIO) --jobs $(JOBS) || exit 1; \
	done

check-config: setup
	$(PY) -m lab.firmware check

lab: firmware-all
	$(PY) -m lab.run --lg-env $(LG_ENV) $(LAB_ARGS)

# The evaluation, kept, reported, and checked for regressions over the last runs:
# exits 1 on a regression (see README, "The nightly job"). NIGHTLY_ARGS: e.g. --from influxdb.
nightly: firmware-all
	$(PY) -m lab.nightly --lg-env $(LG_ENV) $(NIGHTLY_ARGS)

# The Python of lab/ is held to the C's standard: lint (ruff) and types (mypy), findings fail.
lint: setup
	$(PY) -m ruff check lab
	$(PY) -m mypy

# Tests marked `long` (minutes each) are left to test-long, so that the suite fits CI.
test: firmware-all lint
	$(PY) -m pytest --lg-env $(LG_ENV) --junitxml=build/test-results.xml -m "not long" $(PYTEST_ARGS)

test-long: firmware-all
	$(PY) -m pytest --lg-env $(LG_ENV) -m long $(PYTEST_ARGS)

debug: firmware
	$(PY) -m lab.debug --board $(BOARD) --scenario $(SCENARIO)

clean:
	rm -rf build

# The two commands in the README: `make demo` and `make test`.
# Each sets up what it needs on a fresh Debian machine: missing apt packages
# (when root), a virtual environment in .venv, and `pip install -e .[test]`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the tests and the demo use; installed only when missing.
# docker.io and debootstrap: the docker runtime's tests start dockerd and build a local base image.
# openssh-server and sudo: the ssh runtime's tests start their own sshds (harness lab), never the system's,
# and log in as root and as a lab user with passwordless sudo.
APT_PACKAGES := sqlite3 procps iproute2 iptables chromium faketime docker.io debootstrap openssh-server sudo

.PHONY: setup system test test-slow demo nightly bench clean-venv docker-base

# The nightly fault-injection matrix, in one place: .github/workflows/nightly.yml runs `make nightly`.
NIGHTLY_MATRIX ?= --workloads bank:txn-mode=cluster-wide,set,register,cart,list-append,engineer-pool \
	--nemeses partition,kill,pause,clock,packet,membership,partition+kill --nodes 5 --time-limit 60

setup: system $(VENV)/.installed

system:
	@bash .ci/install-system-packages $(APT_PACKAGES)

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

test: setup
	$(BIN)/pytest -q $(PYTEST_ARGS)

# The slow end-to-end tests `make test` leaves out (more seeds and variants of what it covers); nightly runs them.
test-slow: setup
	$(BIN)/pytest -q -m slow $(PYTEST_ARGS)

demo: setup
	@bash .ci/demo

nightly: setup
	$(BIN)/harness test-all $(NIGHTLY_MATRIX) $(NIGHTLY_ARGS)

bench: setup
	$(BIN)/python -m benchmarks.run_all $(BENCH_ARGS)

# A local base image for the Dockerfile where no registry can be reached (debootstrap, then docker import).
docker-base:
	@bash .ci/docker-base-image unkindness-base:bookworm

clean-venv:
	rm -rf $(VENV)

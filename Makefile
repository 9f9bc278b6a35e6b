# Switchyard: `make run` serves the default policy on the embedded SLM; `make test` runs every test.
# Both install what is missing first (see scripts/setup.sh); set-up is a fast no-op afterwards.
SWITCHYARD_HOME ?= $(HOME)/.cache/switchyard
export SWITCHYARD_HOME
POLICY ?= policies/default.yaml
PORT ?= 8080
SWIFT_BUILD_FLAGS ?=
# Seconds of fuzzing per harness: `make fuzz` (FUZZ_SECONDS), and the quick pass `make test` ends with.
FUZZ_SECONDS ?= 60
FUZZ_QUICK_SECONDS ?= 5
PYTHON := $(SWITCHYARD_HOME)/venv/bin/python
# Podman works here when it answers `podman info` with the settings the image scripts use.
PODMAN_WORKS := command -v podman >/dev/null 2>&1 && CONTAINERS_CONF=$${CONTAINERS_CONF:-scripts/containers.conf} podman info >/dev/null 2>&1

.PHONY: setup build release run test fuzz bench clean image image-test chart-test

setup:
	@bash scripts/setup.sh

build: setup
	swift build $(SWIFT_BUILD_FLAGS)

release: setup
	swift build -c release --product switchyard $(SWIFT_BUILD_FLAGS)

run: release
	.build/release/switchyard serve --policy $(POLICY) --port $(PORT)

# One test at a time: several tests measure how fast a cancellation reaches an upstream,
# and a load test running beside them on 2 cores would measure the scheduler instead.
# (scripts/swift_test.sh repeats the failed tests' lines at the end, where CI's log shows them.)
# Then every fuzz harness for a few seconds, after replaying the inputs that once failed.
# Then the Helm chart's offline check, and the container image's test where podman works.
test: setup
	bash scripts/swift_test.sh $(SWIFT_BUILD_FLAGS)
	$(PYTHON) scripts/chart_check.py
	@if $(PODMAN_WORKS); then $(MAKE) --no-print-directory image-test; \
	else echo "image-test: skipped: podman is not installed or does not work here (\`podman info\` fails); see docs/operations.md"; fi
	FUZZ_SECONDS=$(FUZZ_QUICK_SECONDS) bash scripts/fuzz.sh

# The container image, deploy/Containerfile (docs/operations.md, "The container image"), and a
# test that runs it; the Helm chart deploy/helm/switchyard, rendered and validated offline.
image: setup
	bash scripts/image.sh

image-test: image
	$(PYTHON) scripts/image_test.py

chart-test: setup
	$(PYTHON) scripts/chart_check.py

# libFuzzer harnesses for the code that parses hostile bytes (Fuzz/, docs/operations.md#fuzzing).
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

clean:
	rm -rf .build .build-fuzz

bench: setup
	bash bench/run.sh

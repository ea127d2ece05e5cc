# Everything a fresh machine needs goes through these targets: each installs what it uses.
PYTHON ?= python3
VENV   ?= venv
STACK  ?= staging
BASE   ?= origin/main
PY     := $(VENV)/bin/python

.PHONY: install servers synth bench-synth cluster-tools cluster-test diff preflight verify slo-report capacity cost test test-fast bench scan lint lock fmt clean

install: $(VENV)/.installed

# The venv name matches Pulumi.yaml (runtime.options.virtualenv), so `pulumi up` reuses it.
# Locks with every file's hash (requirements*.txt from requirements*.in: make lock); pip refuses
# anything else, so the job that later holds deploy credentials installs exactly what was reviewed.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	touch $@

## PostgreSQL, PgBouncer and Redis from Debian packages, for the real-server tests.
servers:
	bash tools/install-servers.sh

## Offline main job: run the program for $(STACK) under the Pulumi mock runtime.
synth: install
	$(PY) tools/synth.py $(STACK)

## The synth of $(STACK) (default prod: both modes and the gate) against its import floors, in
## alternating rounds (docs/BENCHMARKS.md).
bench-synth: install
	$(PY) tools/bench_synth.py $(if $(filter command line environment,$(origin STACK)),$(STACK),prod) --json build/bench/synth.json

## The cluster tests' control plane (kube-apiserver, -controller-manager, -scheduler, etcd, kwok),
## built from the Go module proxy through cluster/*/go.mod; cached outside git by version.
cluster-tools:
	bash tools/cluster-tools.sh

## $(STACK)'s rendered Kubernetes objects against a real API server, controllers and scheduler
## on loopback (kwok nodes): accepted vs rejected, pods admitted vs refused by PodSecurity;
## with BASE=<git ref>, the updates from the base's objects the server refuses (immutable fields).
cluster-test: install
	$(PY) tools/synth.py $(STACK) > /dev/null
	$(PY) tools/cluster_test.py $(STACK) $(if $(filter command line environment,$(origin BASE)),--base $(BASE))

## Offline plan: what this working tree changes against $(BASE) for $(STACK) (MARKDOWN=1 for a PR comment).
diff: install
	$(PY) tools/plan_diff.py --stack $(STACK) --base $(BASE) $(if $(MARKDOWN),--markdown)

## Read-only checks of $(STACK) against the AWS account of your credentials, before a first `pulumi up`.
preflight: install
	$(PY) tools/preflight.py $(STACK)

## Read-only, after `pulumi up`: does $(STACK) meet the seed's targets over the last hour (CloudWatch)?
verify: install
	$(PY) tools/verify.py $(STACK)

## The month's seed targets as Markdown with plots (build/$(STACK)/slo/$(MONTH)/report.md).
MONTH ?= $(shell date -u +%Y-%m)
slo-report: install
	$(PY) tools/slo_report.py $(STACK) --month $(MONTH)

## Capacity model and HPA scale-out simulation of $(STACK), its cost at the target and per 1,000
## users: figures, plots and the capacity and cost policies' config in build/$(STACK)/ (pass
## policy-config.json to `pulumi preview --policy-pack-config`).
capacity: install
	$(PY) tools/synth.py $(STACK) --skip-policies > /dev/null
	$(PY) tools/capacity.py $(STACK)

## Monthly estimate of $(STACK) per component (RESOURCES=1: and per resource), from the rendered
## inventory and cost/prices/<region>.json: at minimum, at the capacity target, at every limit.
cost: install
	$(PY) tools/synth.py $(STACK) --skip-policies > /dev/null
	$(PY) tools/cost.py $(STACK) $(if $(RESOURCES),--resources)

## The test suite: unit, property and whole-program tests, and real-server proofs, on every core
## (pytest-xdist; a module's tests share one worker, so its servers start once).
test: install servers
	$(PY) -m pytest -n auto --dist loadfile

## The inner loop: unit tests only (pure Python in one process: no program run, no server, no
## subprocess), property tests sampled.
test-fast: install
	HYPOTHESIS_PROFILE=fast $(PY) -m pytest -q -m unit

## PgBouncer benchmark: 1,000 pgbench clients through the rendered pool (prints figures).
bench: install servers
	$(PY) tools/bench_pgbouncer.py

## checkov over both stacks: the rendered Kubernetes manifests (skips and reasons: .checkov.yaml)
## and the AWS half as a Terraform plan (.checkov-aws.yaml, plus .checkov-aws-staging.yaml for staging).
scan: install $(VENV)-scan/.installed
	for stack in staging prod; do \
		$(PY) tools/synth.py $$stack > /dev/null && \
		$(VENV)-scan/bin/checkov --config-file .checkov.yaml -d build/$$stack/manifests && \
		$(PY) tools/tf_plan.py build/$$stack/resources.json > build/$$stack/tfplan.json && \
		$(VENV)-scan/bin/checkov --config-file .checkov-aws.yaml -f build/$$stack/tfplan.json \
			--skip-check "$$($(PY) tools/tf_plan.py --skips $$stack)" || exit 1; \
	done

$(VENV)-scan/.installed: requirements-scan.txt
	$(PYTHON) -m venv $(VENV)-scan
	$(VENV)-scan/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-scan.txt
	touch $@

## Regenerate the hash locks from the *.in pins (uv, pinned; dev first: the others follow its versions).
UV := $(VENV)/bin/uv pip compile --quiet --generate-hashes --universal --python-version 3.11
lock: install
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(UV) --custom-compile-command "make lock" requirements-dev.in -o requirements-dev.txt
	$(UV) --custom-compile-command "make lock" requirements-scan.in -o requirements-scan.txt
	$(UV) --custom-compile-command "make lock" requirements.in -c requirements-dev.txt -o requirements.txt
	$(UV) --custom-compile-command "make lock" policies/requirements.in -c requirements-dev.txt -o policies/requirements.txt

## actionlint, built from the Go module proxy (pinned), into build/bin.
GO         ?= $(shell command -v go || echo /usr/local/go/bin/go)
ACTIONLINT := build/bin/actionlint
$(ACTIONLINT):
	GOBIN=$(CURDIR)/build/bin $(GO) install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

lint: install $(ACTIONLINT)
	$(ACTIONLINT) -no-color
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) tools/check_structure.py

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf build .pytest_cache .hypothesis .ruff_cache

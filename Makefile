# The single interface for humans, the README and CI.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The scanners live apart from .venv: their pins conflict with the dev group's (see pyproject.toml).
# `make lint` runs them; the tests that scan every deployment shape run checkov from there too.
SCAN_VENV  := .venv-scan
SCAN_BIN   := $(SCAN_VENV)/bin
SCAN_STAMP := $(SCAN_VENV)/.installed
TEMPLATES  := iac/template.yaml iac/github-oidc-role.yaml iac/operator-policy.yaml
WORKFLOWS  := $(wildcard .github/workflows/*.yaml)
# Targets that never talk to a real account give moto (and SAM) a region, unless one is set.
# redrive and backfill talk to the user's account: they find its region as the AWS CLI does
# (AWS_REGION, AWS_DEFAULT_REGION, the profile's region in ~/.aws/config) or take --region.
LOCAL_TARGETS := test lint demo ops-demo local-aws loadtest bench bench-tracing build
$(LOCAL_TARGETS): export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help
help: ## list the targets, grouped as the docs are
	@awk -F ':.*## ' '/^##@ /{printf "\n%s\n", substr($$0, 5)} /^[a-z-]+:.*## /{printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Setting up and checking (docs/local-development.md)

$(STAMP): pyproject.toml lambda/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -r lambda/requirements.txt --group dev
	@touch $@

.PHONY: venv
venv: $(STAMP) ## create .venv with everything the targets need

$(SCAN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(SCAN_BIN)/python -m pip install --quiet --group scan
	@touch $@

# The demo gallery's test opens out/index.html in a real browser, the first of these on PATH
# (GitHub's runners ship google-chrome). With none, `make browser` installs Debian's chromium as
# root or with a sudo that asks no password. It is a step of its own, which CI runs before
# `make test` (.ci/run); `make test` never installs anything: without a browser the gallery
# test skips on a developer's machine and fails under CI=true.
BROWSERS := chromium google-chrome chromium-browser

.PHONY: browser
browser: ## install Debian's chromium for the gallery test, if no browser is there (root or sudo -n)
	@for name in $(BROWSERS); do command -v $$name >/dev/null && exit 0; done; \
	if [ "$$(id -u)" = 0 ]; then as_root=; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; \
	else echo "make browser: no browser, and neither root nor sudo -n: install chromium yourself"; exit 1; fi; \
	$$as_root apt-get update -qq && \
	$$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

.PHONY: test
test: $(STAMP) $(SCAN_STAMP) ## lint the code, check formatting, run every test
	$(BIN)/ruff check .
	$(BIN)/black --check --quiet .
	$(BIN)/pytest

.PHONY: lint
lint: $(STAMP) $(SCAN_STAMP) ## lint code, templates and workflows (ruff, black, cfn-lint, sam validate, checkov, check-jsonschema)
	$(BIN)/ruff check .
	$(BIN)/black --check --quiet .
	$(BIN)/cfn-lint --append-rules cfn_lint_serverless.rules -- $(TEMPLATES)
	SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint --template-file iac/template.yaml
	$(SCAN_BIN)/checkov --quiet --compact --skip-download --framework cloudformation $(addprefix --file ,$(TEMPLATES))
	$(SCAN_BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(SCAN_BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	@if command -v actionlint >/dev/null; then actionlint $(WORKFLOWS); \
	else echo "actionlint: not installed, skipped (CI installs it; see docs/local-development.md)"; fi

.PHONY: audit
audit: $(SCAN_STAMP) ## known vulnerabilities in the function's dependencies (pip-audit; needs PyPI's JSON API)
	$(SCAN_BIN)/pip-audit --strict --requirement lambda/requirements.txt

.PHONY: fmt
fmt: $(STAMP) ## format the code (ruff --fix, black)
	$(BIN)/ruff check --fix .
	$(BIN)/black --quiet .

.PHONY: fuzz
fuzz: $(STAMP) ## fuzz the image core for FUZZ_SECONDS (default 300); findings are kept as regression tests
	PYTHONPATH=lambda:. $(BIN)/python -m tests.fuzz.run $(if $(FUZZ_SECONDS),--seconds $(FUZZ_SECONDS))

# The fault suite runs in `make test` too (it is part of pytest's run); this runs it alone.
.PHONY: faults
faults: $(STAMP) ## faults and races at the S3/SQS boundary of the local twin (tests/faults; part of make test)
	$(BIN)/pytest -q -p no:cacheprovider tests/faults

.PHONY: clean
clean: ## remove build output, thumbnails and caches (keeps .venv)
	rm -rf .aws-sam out .pytest_cache .ruff_cache .hypothesis

##@ The local twin (docs/local-development.md)

# The demo's options, one line for make to echo: only those set appear.
DEMO_ARGS = $(if $(INGEST_MODE),--ingest-mode $(INGEST_MODE)) $(if $(RENDITIONS),--renditions) \
	$(if $(OUTPUT_FORMATS),--output-formats $(OUTPUT_FORMATS)) \
	$(if $(AVIF_QUALITY),--avif-quality $(AVIF_QUALITY)) $(if $(CROP_SIZES),--crop-sizes $(CROP_SIZES)) \
	$(if $(WRITE_MANIFEST),--write-manifest $(WRITE_MANIFEST))

.PHONY: demo
demo: $(STAMP) ## run the pipeline locally on generated sample images; thumbnails and out/index.html land in ./out (RENDITIONS=1: every rendition on)
	$(BIN)/python -m scripts.local.demo $(strip $(DEMO_ARGS))

.PHONY: local-aws
local-aws: $(STAMP) ## local S3 + SQS for `sam local invoke --env-vars events/env.json`; Ctrl-C stops it
	$(BIN)/python -m scripts.local.local_aws $(if $(LOCAL_AWS_HOST),--host $(LOCAL_AWS_HOST))

.PHONY: loadtest
loadtest: $(STAMP) ## N images (default 1000) through the local pipeline; checks that none is lost
	$(BIN)/python -m scripts.bench.loadtest $(if $(N),-n $(N)) $(if $(WORKERS),--workers $(WORKERS)) $(if $(INGEST_MODE),--ingest-mode $(INGEST_MODE))

##@ Deploying (docs/deploy.md)

.PHONY: build
build: $(STAMP) ## sam build (no Docker, no local Python 3.13 needed)
	$(BIN)/sam build

##@ Operations (docs/operations.md)

# Day-2 operations (docs/operations.md). They read the deployed stack with ARGS="--stack-name
# NAME", or the function's environment variables set in the shell (how local runs work).
OPS := PYTHONPATH=lambda $(BIN)/python -m

.PHONY: redrive
redrive: $(STAMP) ## replay the dead-letter queues (ARGS="--stack-name NAME [--region R] --dry-run ...")
	$(OPS) scripts.ops.redrive $(ARGS)

.PHONY: backfill
backfill: $(STAMP) ## make missing or out-of-date thumbnails for the whole prefix (ARGS=...)
	$(OPS) scripts.ops.backfill $(ARGS)

.PHONY: ops-demo
ops-demo: $(STAMP) ## redrive, backfill, Batch Operations, deletes, duplicates on the local stand-in
	$(OPS) scripts.ops.demo

##@ Performance (docs/performance.md)

# The function's runtime packages alone (and the runtime's boto3), for measuring its import.
FUNCTION_VENV := .venv-function
$(FUNCTION_VENV)/.installed: lambda/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(FUNCTION_VENV)
	$(FUNCTION_VENV)/bin/python -m pip install --quiet -r lambda/requirements.txt \
		"$$(grep -o '"boto3==[0-9.]*"' pyproject.toml | tr -d '"')"
	@touch $@

.PHONY: bench
bench: $(STAMP) $(FUNCTION_VENV)/.installed ## time the core, the handler, the built package's import, the cost (add your own: DIR=~/Pictures)
	@# AUTO_QUALITY's real photos: Debian's libjxl-testdata (and scikit-image's, a dev package).
	@if [ -d /usr/share/libjxl-testdata ]; then :; elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjxl-testdata >/dev/null; \
	else echo "make bench: not root, so no libjxl-testdata: AUTO_QUALITY is measured on scikit-image's photos only"; fi
	$(BIN)/python -m scripts.bench.bench $(DIR)

.PHONY: bench-tracing
bench-tracing: $(STAMP) $(FUNCTION_VENV)/.installed ## each Tracing value (xray, otel, off): init, first invocation, package and layer size
	$(BIN)/python -m scripts.bench.tracing $(if $(RUNS),--runs $(RUNS))

# The single interface for humans, the README and CI.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Tests and local runs never need a real account; these keep boto3 and SAM away from ~/.aws.
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml lambda/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -r lambda/requirements.txt --group dev
	@touch $@

.PHONY: venv
venv: $(STAMP) ## create .venv with everything the targets need

# checkov pins an older boto3 than the dev tools do, so it gets a venv of its own; the tests
# that scan the template's deployment shapes run it from there.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --group checkov
	@touch $@

.PHONY: test
test: $(STAMP) $(CHECKOV_STAMP) ## lint the code, check formatting, run every test
	$(BIN)/ruff check .
	$(BIN)/black --check --quiet .
	$(BIN)/pytest

.PHONY: lint
lint: $(STAMP) ## lint code and template (ruff, black, cfn-lint, sam validate --lint)
	$(BIN)/ruff check .
	$(BIN)/black --check --quiet .
	$(BIN)/cfn-lint iac/*.yaml
	$(BIN)/sam validate --lint --template-file iac/template.yaml

.PHONY: fmt
fmt: $(STAMP) ## format the code (ruff --fix, black)
	$(BIN)/ruff check --fix .
	$(BIN)/black --quiet .

.PHONY: demo
demo: $(STAMP) ## run the pipeline locally on generated sample images; thumbnails land in ./out
	$(BIN)/python -m scripts.demo

.PHONY: build
build: $(STAMP) ## sam build (no Docker, no local Python 3.13 needed)
	$(BIN)/sam build

.PHONY: clean
clean: ## remove build output, thumbnails and caches (keeps .venv)
	rm -rf .aws-sam out .pytest_cache .ruff_cache

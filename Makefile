# The Makefile only wraps npm scripts and scripts/*.sh; read those for what each step does.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_MODULES := node_modules/.package-lock.json

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES) ## install dependencies (npm ci)

build: install ## compile TypeScript into dist/
	npm run build

typecheck: install ## tsc --noEmit
	npm run typecheck

lint: install ## eslint + prettier --check
	npm run lint

test: install ## install, choose one stack (set, running, compose where Docker answers, else JVM), run the tests
	scripts/with-stack.sh npm test

test-unit: install ## unit tests only (no stack needed)
	npm run test:unit

bench: install build stack-up ## benchmarks (see BENCHMARKS.md)
	npm run bench

demo: install build ## simulated traffic with attacks, alerts as they arrive, a summary (DEMO_INSTANCES=2: two pipelines)
	scripts/demo.sh

stack-up: ## start real Kafka (KRaft) + schema registry as JVM processes on loopback
	scripts/stack.sh up

stack-down: ## stop what stack-up started
	scripts/stack.sh down

stack-status: ## what runs and what is down
	scripts/stack.sh status

stack-reset: ## stop, then delete broker data (downloads are kept)
	scripts/stack.sh reset

up: ## docker compose where a Docker engine answers, the JVM stack otherwise
	@if docker info >/dev/null 2>&1; then docker compose up -d --wait kafka schema-registry; else scripts/stack.sh up; fi

down: ## stop what `make up` started
	@if docker info >/dev/null 2>&1; then docker compose down; else scripts/stack.sh down; fi

clean: ## remove build output
	rm -rf dist .bench

.PHONY: help install build typecheck lint test test-unit bench demo stack-up stack-down stack-status stack-reset up down clean

# mcic: `make run` brings the whole stack up locally, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

node_modules: package.json package-lock.json
	npm ci
	@touch node_modules

.PHONY: help install build run test lint typecheck bench clean
help:
	@echo "make run    - start NATS/Redis (or reuse them), api, watcher, dispatcher and the demo"
	@echo "make test   - build, lint and run the whole test suite"
	@echo "make bench  - run the benchmarks in bench/"

install: node_modules

build: node_modules
	npx tsc -b

run: build
	node scripts/run.mjs

lint: node_modules
	npx biome check .

typecheck: build

test: build lint
	npx vitest run

bench: build
	npm run bench -w @mcic/bench

clean:
	npx tsc -b --clean

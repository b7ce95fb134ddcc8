# mcic: `make run` brings the whole stack up locally, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

node_modules: package.json package-lock.json
	npm ci
	@touch node_modules

.PHONY: help install build run reset test faults lint typecheck bench clean
help:
	@echo "make run    - start NATS/Redis (or reuse them), api, watcher, dispatcher and the demo"
	@echo "make reset  - delete what make run registered (demo cluster, demo receiver) and remove .mcic/"
	@echo "make test   - build, type-check the tests, lint and run the whole test suite"
	@echo "make faults - run every fault scenario (test/faults) and print the lost/duplicated table"
	@echo "make bench  - run the benchmarks in bench/"

install: node_modules

build: node_modules
	npx tsc -b

run: build
	node scripts/run.mjs

# Refuses while make run is running; see README "make run".
reset: build
	node scripts/run.mjs --reset

lint: node_modules
	npx biome check .

# Tests are not part of the builds (dist/ holds what runs); tsconfig.test.json type-checks them.
typecheck: build
	npx tsc -p tsconfig.test.json

test: typecheck lint
	npx vitest run

# Every fault scenario, the slow ones too; the quick ones also run in `make test`.
faults: build
	npx vitest run --config vitest.faults.config.ts

# Every benchmark (each writes bench/results/<name>.json), then one table of all rows and targets
# and docs/benchmarks.svg. Takes 15-30 min; the 5,000-cluster watcher needs `ulimit -n` >= 6000.
bench: build
	rm -rf bench/results
	@# A benchmark that fails still leaves what it measured: report what there is, then fail.
	npm run bench -w @mcic/bench; status=$$?; node bench/dist/src/report.js --svg docs/benchmarks.svg && exit $$status

# rm as well: `tsc -b --clean` leaves outputs of files the builds no longer include.
clean:
	npx tsc -b --clean
	rm -rf packages/*/dist services/*/dist test/dist bench/dist examples/*/dist

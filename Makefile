# Vigil — build, run and test. See README.md.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/vigil-health/vigil/internal/app.Version=$(VERSION)
BIN     := bin/vigil

.PHONY: all build run test test-short vet bench bench-sigma bench-osv fuzz clean

all: build

# CGO_ENABLED=0: no package of Vigil uses cgo (SQLite is modernc's Go port), and a
# statically linked vigil starts sooner, with no dynamic loader or libc to set up, which
# counts in a small `vigil vuln scan` (docs/performance.md, "Start-up, again").
build:
	@CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vigil

# make run: build and start `vigil serve` on embedded SQLite + NATS under ./vigil-data.
# It prints the address and how to sign in; on a terminal the log shows warnings and
# errors only (--log-level info, e.g. `./bin/vigil serve --log-level info`, for more).
run: build
	@./$(BIN) serve

# make test: vet, then every test with the race detector — the store suite on SQLite and
# PostgreSQL (VIGIL_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test),
# the bus against embedded and external NATS (VIGIL_TEST_NATS_URL, default
# nats://127.0.0.1:4222) and the browser tests in headless Chromium. Under CI=true a
# missing PostgreSQL, NATS, Chromium or ../shared/data fails the run instead of skipping
# (internal/testneed).
test: vet
	$(GO) test -race -timeout 30m ./...
	# Timing budgets (pages < 200 ms, alert creation, a national incident) hold without the race
	# detector, one package at a time (-p 1): a timing test measures the machine, not a neighbour.
	$(GO) test -p 1 -count=1 -run 'Fast|Performance' ./internal/app/ ./internal/web/ ./internal/cli/

test-short:
	$(GO) test -short ./...

# make vet: go vet, gofmt, staticcheck and errcheck (both pinned as tool
# dependencies in go.mod, so nothing extra is installed). errcheck skips
# test files (a test reports failures through t) and the functions listed,
# with the reason for each, in .errcheck-excludes.
vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) tool staticcheck ./...
	$(GO) tool errcheck -ignoretests -exclude .errcheck-excludes ./...

# make bench: the performance figures in docs/performance.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./internal/org/ ./internal/web/ ./internal/supply/...
	# A million alerts are generated first (about a minute on SQLite).
	$(GO) test -run '^$$' -bench BenchmarkInboxFirstPage -benchtime 20x -timeout 60m ./internal/cases/
	# Ingest parse throughput (needs ../shared/data/events).
	$(GO) test -run '^$$' -bench Normalise -benchmem -benchtime 3s ./internal/ingest/
	# Flow decoding (NetFlow v5, v9, IPFIX) and syslog end to end — loggen into `vigil serve` until
	# `vigil events count` sees every message, and rsyslog with a disk queue beside it (needs
	# syslog-ng's loggen unpacked under /opt/syslog-ng, as .ci/run does).
	$(GO) test -run '^$$' -bench NetFlowDecode -benchmem ./internal/ingest/
	$(GO) test -run '^$$' -bench SyslogEndToEnd -benchtime 100000x -timeout 30m ./internal/cli/
	$(MAKE) bench-sigma

# make bench-osv OSV_SCANNER=…: issue 18's per-SBOM comparison with osv-scanner v2.5.0 (built apart:
# docs/performance.md), both offline on the same OSV records, in one run.
bench-osv: build
	@test -n "$(OSV_SCANNER)" || { echo "make bench-osv: set OSV_SCANNER to an osv-scanner v2.5.0 binary (docs/performance.md)"; exit 2; }
	python3 docs/bench/osv-pair.py ./bin/vigil $(OSV_SCANNER) 9

# make bench-sigma: issue 17's hunt figure — HuntFiles (what `vigil hunt` runs) over the 248k
# OTRF events with SigmaHQ's Windows rules, one goroutine (needs ../shared/data).
bench-sigma:
	$(GO) test -run '^$$' -bench HuntOTRF -benchtime 3x -timeout 30m ./internal/sigma/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseODS -fuzztime 60s ./internal/org/
	$(GO) test -run '^$$' -fuzz '^FuzzParseCSV$$' -fuzztime 60s ./internal/supply/
	$(GO) test -run '^$$' -fuzz '^FuzzCSVCell$$' -fuzztime 30s ./internal/supply/
	$(GO) test -run '^$$' -fuzz '^FuzzParseGeoJSON$$' -fuzztime 60s ./internal/geo/
	$(GO) test -run '^$$' -fuzz '^FuzzRenderMarkdown$$' -fuzztime 30s ./internal/cases/
	$(GO) test -run '^$$' -fuzz '^FuzzParseTemplate$$' -fuzztime 30s ./internal/cases/
	$(GO) test -run '^$$' -fuzz '^FuzzSyslog5424$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzSyslog3164$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzFraming$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzCEF$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzLEEF$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzKV$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzJSONFlatten$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzEVTX$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzNormalise$$' -fuzztime 30s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzRELPFrame$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzBulk$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzOrgMap$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzEventJSON$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzNetFlowV5$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzNetFlowV9$$' -fuzztime 20s ./internal/ingest/
	$(GO) test -run '^$$' -fuzz '^FuzzIPFIX$$' -fuzztime 30s ./internal/ingest/

clean:
	rm -rf bin

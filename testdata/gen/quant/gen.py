#!/usr/bin/env python3
"""Write owl's second set of quantization test vectors (testdata/quant).

The vectors come from gguf-py's gguf.quants module, the numpy reference of
the ggml formats that ships with llama.cpp's Python package. It is an
implementation independent of both ggml's C code and owl's Go code.

Two kinds of vectors, all little-endian:

  TYPE.pyq.input-f32.bin    float32 input
  TYPE.pyq.quant.bin        gguf.quants.quantize(input, TYPE)
      for each TYPE that gguf-py can quantize.

  TYPE.pyrand.quant.bin        random blocks (random bytes with finite fp16
                               scales patched in)
  TYPE.pyrand.dequant-f32.bin  gguf.quants.dequantize of those blocks
      for each TYPE that gguf-py can dequantize; these reach bit patterns
      that no quantizer produces.

Run through gen.sh, which makes the virtual environment. The output is
deterministic for a given gguf/numpy version.
"""

import argparse
import os
from importlib import metadata

import numpy as np
from gguf import quants
from gguf.constants import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

# Types that gguf-py quantizes and owl does too.
QUANT_TYPES = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]

# Types that gguf-py dequantizes and owl does too, with the byte offsets of
# their fp16 fields inside one block (random bytes there could be NaN/Inf).
DEQUANT_TYPES = {
    "F16": [],
    "BF16": [],
    "Q4_0": [0],
    "Q4_1": [0, 2],
    "Q5_0": [0],
    "Q5_1": [0, 2],
    "Q8_0": [0],
    "Q2_K": [80, 82],
    "Q3_K": [108],
    "Q4_K": [0, 2],
    "Q5_K": [0, 2],
    "Q6_K": [208],
    "IQ4_NL": [0],
    "IQ4_XS": [0],
}

N = 512  # elements per vector: 2 K-quant super-blocks, 16 small blocks


def base_input(rng: np.random.Generator) -> np.ndarray:
    """4×256 values that exercise rounding, ties and flat blocks."""
    out = []
    out.append(rng.standard_normal(256) * 0.5)
    # Multiples of 1/64 in [-2, 2]: many exact rounding ties.
    out.append(rng.integers(-128, 129, 256) / 64.0)
    # Small values with sparse large outliers.
    r = rng.standard_normal(256) * 1e-3
    r[rng.integers(0, 256, 6)] *= 5e4
    out.append(r)
    # Blocks of 32: zeros, a constant, all negative, a ramp, one spike,
    # -0.0s with one small value, all positive, and tiny values.
    r = np.zeros(256)
    r[32:64] = 0.3
    r[64:96] = -np.abs(rng.standard_normal(32))
    r[96:128] = np.linspace(-1, 1, 32)
    r[128 + 7] = -3.0
    r[160:192] = -0.0
    r[170] = 1e-3
    r[192:224] = np.abs(rng.standard_normal(32)) + 1
    r[224:256] = rng.standard_normal(32) * 1e-6
    out.append(r)
    return np.concatenate(out).astype(np.float32)


def quant_input(rng: np.random.Generator, qtype: str) -> np.ndarray:
    """N values: for the block types, 32-value blocks taken from every kind
    of base_input row; for F16/BF16, values that stress float rounding."""
    if qtype not in ("F16", "BF16"):
        x = base_input(rng).reshape(4, 8, 32)
        return x[:, ::2, :].reshape(-1)  # every other block of each row
    # Exact midpoints between neighbouring halves (ties to even), subnormal
    # halves, overflow, infinities, signed zeros and values of every scale.
    h = rng.integers(0, 0x7BFF, 128, dtype=np.uint16)
    lo = h.view(np.float16).astype(np.float64)
    hi = (h + 1).view(np.float16).astype(np.float64)
    mid = ((lo + hi) / 2).astype(np.float32)
    mid *= np.where(rng.integers(0, 2, 128) == 1, -1, 1).astype(np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, 65504.0, 65519.99, 65520.0, 1e6,
                        6e-8, 2.9e-8, 3e-8, 6.1e-5, -6.1e-5, 1e-40, -1e-45, 3.4e38],
                       dtype=np.float32)
    rnd = (rng.standard_normal(N - 144) * np.exp2(rng.integers(-30, 30, N - 144))).astype(np.float32)
    return np.concatenate([mid, special, rnd])


def random_blocks(rng: np.random.Generator, qtype: str) -> np.ndarray:
    t = T[qtype]
    block, size = GGML_QUANT_SIZES[t]
    nb = N // block
    if qtype == "F16":
        h = rng.integers(0, 1 << 16, N, dtype=np.uint16)
        nan = ((h & 0x7C00) == 0x7C00) & ((h & 0x03FF) != 0)
        h[nan] &= 0xFC00  # NaN -> Inf: payload conversion is not specified
        return h.view(np.uint8)
    if qtype == "BF16":
        h = rng.integers(0, 1 << 16, N, dtype=np.uint16)
        nan = ((h & 0x7F80) == 0x7F80) & ((h & 0x007F) != 0)
        h[nan] &= 0xFF80
        return h.view(np.uint8)
    b = rng.integers(0, 256, (nb, size), dtype=np.uint8)
    for off in DEQUANT_TYPES[qtype]:
        mag = np.exp2(rng.uniform(-14, 4, nb))
        sign = np.where(rng.integers(0, 2, nb) == 1, -1.0, 1.0)
        d = (mag * sign).astype(np.float16)
        b[:, off:off + 2] = d.reshape(nb, 1).view(np.uint8).reshape(nb, 2)
    return b.reshape(-1)


def dequantize(data: np.ndarray, qtype: str) -> np.ndarray:
    t = T[qtype]
    if qtype == "F16":
        return data.view(np.float16).astype(np.float32)
    out = quants.dequantize(data.reshape(1, -1), t)
    return np.asarray(out, dtype=np.float32).reshape(-1)


def quantize(x: np.ndarray, qtype: str) -> np.ndarray:
    t = T[qtype]
    with np.errstate(all="ignore"):
        q = quants.quantize(x.reshape(1, -1), t)
    return np.ascontiguousarray(q).view(np.uint8).reshape(-1)


def write(path: str, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        f.write(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="output folder (testdata/quant)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    for i, qtype in enumerate(QUANT_TYPES):
        rng = np.random.default_rng(1000 + i)
        x = quant_input(rng, qtype)
        q = quantize(x, qtype)
        write(os.path.join(args.out, f"{qtype}.pyq.input-f32.bin"), x)
        write(os.path.join(args.out, f"{qtype}.pyq.quant.bin"), q)

    for i, qtype in enumerate(DEQUANT_TYPES):
        rng = np.random.default_rng(2000 + i)
        b = random_blocks(rng, qtype)
        write(os.path.join(args.out, f"{qtype}.pyrand.quant.bin"), b)
        write(os.path.join(args.out, f"{qtype}.pyrand.dequant-f32.bin"), dequantize(b, qtype))

    with open(os.path.join(args.out, "VERSION"), "w") as f:
        f.write(f"gguf {metadata.version('gguf')} (gguf.quants), numpy {np.__version__}\n")


if __name__ == "__main__":
    main()

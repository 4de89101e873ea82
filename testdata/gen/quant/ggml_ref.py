#!/usr/bin/env python3
"""Write quantization vectors made by ggml's own C code (testdata/quant).

ggml.sh builds libggml-base from the ggml sources vendored in the PyPI
sdist of ggml-python and runs this script with the library's path. Through
ctypes it calls ggml's reference quantizers (ggml_quantize_chunk without an
importance matrix, and quantize_row_q8_1_ref / quantize_row_q8_K_ref for the
activation types) and its dequantizers (dequantize_row_*, the to_float of
each type):

  ggml.input-f32.bin        1024 float32 (gen.base_input)
  TYPE.ggml.quant.bin       ggml's quantization of them
  TYPE.ggml.dequant-f32.bin ggml's dequantization of those bytes (not for
                            Q8_1, which ggml cannot dequantize)
"""

import argparse
import ctypes
import os

import numpy as np

from gen import base_input

# owl/ggml type name -> (ggml type id, quantizer symbol or None for
# ggml_quantize_chunk, dequantizer symbol or None)
TYPES = {
    "F16": (1, None, "ggml_fp16_to_fp32_row"),
    "BF16": (30, None, "ggml_bf16_to_fp32_row"),
    "Q4_0": (2, None, "dequantize_row_q4_0"),
    "Q4_1": (3, None, "dequantize_row_q4_1"),
    "Q5_0": (6, None, "dequantize_row_q5_0"),
    "Q5_1": (7, None, "dequantize_row_q5_1"),
    "Q8_0": (8, None, "dequantize_row_q8_0"),
    "Q8_1": (9, "quantize_row_q8_1_ref", None),
    "Q2_K": (10, None, "dequantize_row_q2_K"),
    "Q3_K": (11, None, "dequantize_row_q3_K"),
    "Q4_K": (12, None, "dequantize_row_q4_K"),
    "Q5_K": (13, None, "dequantize_row_q5_K"),
    "Q6_K": (14, None, "dequantize_row_q6_K"),
    "Q8_K": (15, "quantize_row_q8_K_ref", "dequantize_row_q8_K"),
    "IQ4_NL": (20, None, "dequantize_row_iq4_nl"),
    "IQ4_XS": (23, None, "dequantize_row_iq4_xs"),
}

# Bytes per block and values per block, for the output sizes.
SIZES = {
    "F16": (1, 2), "BF16": (1, 2), "Q4_0": (32, 18), "Q4_1": (32, 20),
    "Q5_0": (32, 22), "Q5_1": (32, 24), "Q8_0": (32, 34), "Q8_1": (32, 36),
    "Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144), "Q5_K": (256, 176),
    "Q6_K": (256, 210), "Q8_K": (256, 292), "IQ4_NL": (32, 18), "IQ4_XS": (256, 136),
}

ROWS, PER_ROW = 4, 256


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lib", help="path of libggml-base.so")
    ap.add_argument("out", help="output folder (testdata/quant)")
    args = ap.parse_args()
    lib = ctypes.CDLL(args.lib)
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                        ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]

    x = base_input(np.random.default_rng(3000))
    assert x.size == ROWS * PER_ROW
    x.astype("<f4").tofile(os.path.join(args.out, "ggml.input-f32.bin"))

    for name, (tid, qfn, dfn) in TYPES.items():
        block, size = SIZES[name]
        nbytes = x.size // block * size
        q = np.zeros(nbytes, dtype=np.uint8)
        if qfn is None:
            n = lib.ggml_quantize_chunk(tid, x.ctypes.data, q.ctypes.data, 0, ROWS, PER_ROW, None)
            assert n == nbytes, (name, n, nbytes)
        else:
            f = getattr(lib, qfn)
            f.restype = None
            f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
            f(x.ctypes.data, q.ctypes.data, x.size)
        q.tofile(os.path.join(args.out, f"{name}.ggml.quant.bin"))
        if dfn is not None:
            f = getattr(lib, dfn)
            f.restype = None
            f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
            y = np.zeros(x.size, dtype=np.float32)
            f(q.ctypes.data, y.ctypes.data, x.size)
            y.astype("<f4").tofile(os.path.join(args.out, f"{name}.ggml.dequant-f32.bin"))


if __name__ == "__main__":
    main()

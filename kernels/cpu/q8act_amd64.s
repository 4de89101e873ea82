#include "textflag.h"

// ggml's AVX2 quantize_row_q8_0 / q8_1 (q8act.go is the same one value at
// a time): per block of 32, amax by max of |x|; d = amax/127 and
// id = 127/amax (0 for amax = 0); x·id rounded to nearest even, saturated
// to int8 by the packs; d (and for Q8_1 s = d·Σq) to binary16, nearest
// even.

DATA q8abs<>+0(SB)/4, $0x7fffffff
GLOBL q8abs<>(SB), RODATA|NOPTR, $4
DATA q8c127<>+0(SB)/4, $0x42fe0000 // 127.0
GLOBL q8c127<>(SB), RODATA|NOPTR, $4
// The packs interleave the four registers' halves; this puts their
// dwords back in order.
DATA q8perm<>+0(SB)/4, $0
DATA q8perm<>+4(SB)/4, $4
DATA q8perm<>+8(SB)/4, $1
DATA q8perm<>+12(SB)/4, $5
DATA q8perm<>+16(SB)/4, $2
DATA q8perm<>+20(SB)/4, $6
DATA q8perm<>+24(SB)/4, $3
DATA q8perm<>+28(SB)/4, $7
GLOBL q8perm<>(SB), RODATA|NOPTR, $32

// Q8BLOCK quantizes the 32 floats at SI: Y0 the 32 int8 in order, X5 d,
// Y1-Y3 and Y4-Y9 clobbered; before the packs, Y10 holds the sum of the
// four int32 vectors (for Q8_1).
#define Q8BLOCK \
	VMOVUPS 0(SI), Y0 \
	VMOVUPS 32(SI), Y1 \
	VMOVUPS 64(SI), Y2 \
	VMOVUPS 96(SI), Y3 \
	VANDPS Y15, Y0, Y4 \
	VANDPS Y15, Y1, Y5 \
	VMAXPS Y5, Y4, Y4 \
	VANDPS Y15, Y2, Y5 \
	VMAXPS Y5, Y4, Y4 \
	VANDPS Y15, Y3, Y5 \
	VMAXPS Y5, Y4, Y4 \
	VEXTRACTF128 $1, Y4, X5 \
	VMAXPS X5, X4, X4 \
	VMOVHLPS X4, X4, X5 \
	VMAXPS X5, X4, X4 \
	VMOVSHDUP X4, X5 \
	VMAXSS X5, X4, X4 \
	VDIVSS X14, X4, X5 \
	VXORPS X6, X6, X6 \
	VCMPSS $4, X6, X4, X7 \
	VDIVSS X4, X14, X8 \
	VANDPS X7, X8, X8 \
	VBROADCASTSS X8, Y8 \
	VMULPS Y8, Y0, Y0 \
	VMULPS Y8, Y1, Y1 \
	VMULPS Y8, Y2, Y2 \
	VMULPS Y8, Y3, Y3 \
	VROUNDPS $0, Y0, Y0 \
	VROUNDPS $0, Y1, Y1 \
	VROUNDPS $0, Y2, Y2 \
	VROUNDPS $0, Y3, Y3 \
	VCVTPS2DQ Y0, Y0 \
	VCVTPS2DQ Y1, Y1 \
	VCVTPS2DQ Y2, Y2 \
	VCVTPS2DQ Y3, Y3 \
	VPADDD Y1, Y0, Y10 \
	VPADDD Y2, Y10, Y10 \
	VPADDD Y3, Y10, Y10 \
	VPACKSSDW Y1, Y0, Y0 \
	VPACKSSDW Y3, Y2, Y2 \
	VPACKSSWB Y2, Y0, Y0 \
	VPERMD Y0, Y13, Y0

#define Q8CONSTS \
	VBROADCASTSS q8abs<>(SB), Y15 \
	VMOVSS q8c127<>(SB), X14 \
	VMOVDQU q8perm<>(SB), Y13

// func fromFloatQ8_0AVX2(nb int, dst *byte, src *float32)
TEXT ·fromFloatQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	Q8CONSTS
	TESTQ CX, CX
	JZ q80done
q80loop:
	Q8BLOCK
	VMOVDQU Y0, 2(DI)
	VCVTPS2PH $0, X5, X9
	VPEXTRW $0, X9, AX
	MOVW AX, 0(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q80loop
q80done:
	VZEROUPPER
	RET

// func fromFloatQ8_1AVX2(nb int, dst *byte, src *float32)
TEXT ·fromFloatQ8_1AVX2(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	Q8CONSTS
	TESTQ CX, CX
	JZ q81done
q81loop:
	Q8BLOCK
	VMOVDQU Y0, 4(DI)
	VCVTPS2PH $0, X5, X9
	VPEXTRW $0, X9, AX
	MOVW AX, 0(DI)
	// s = d·Σq: the exact integer sum, converted, times d.
	VEXTRACTI128 $1, Y10, X11
	VPADDD X11, X10, X10
	VPSHUFD $0x4e, X10, X11
	VPADDD X11, X10, X10
	VPSHUFD $0xb1, X10, X11
	VPADDD X11, X10, X10
	VCVTDQ2PS X10, X10
	VMULSS X10, X5, X10
	VCVTPS2PH $0, X10, X9
	VPEXTRW $0, X9, AX
	MOVW AX, 2(DI)
	ADDQ $128, SI
	ADDQ $36, DI
	DECQ CX
	JNZ q81loop
q81done:
	VZEROUPPER
	RET

#include "textflag.h"

// ggml's vector expf (ggml_v_expf) and SiLU (ggml_v_silu) in AVX2+FMA,
// eight lanes at a time; expf.go is the same computation one lane at a
// time. The large-|n| lanes are blended in unconditionally (ggml branches
// around them when no lane needs them; the values are the same).

#define VEC(name, v) \
	DATA name<>+0(SB)/4, v \
	DATA name<>+4(SB)/4, v \
	DATA name<>+8(SB)/4, v \
	DATA name<>+12(SB)/4, v \
	DATA name<>+16(SB)/4, v \
	DATA name<>+20(SB)/4, v \
	DATA name<>+24(SB)/4, v \
	DATA name<>+28(SB)/4, v \
	GLOBL name<>(SB), RODATA|NOPTR, $32

VEC(expR, $0x4b400000)     // 0x1.8p23
VEC(expLog2e, $0x3fb8aa3b) // 0x1.715476p+0
VEC(expLn2Hi, $0x3f317200) // 0x1.62e4p-1
VEC(expLn2Lo, $0x35bfbe8e) // 0x1.7f7d1cp-20
VEC(expOne, $0x3f800000)   // 1.0
VEC(expP0, $0x3c072010)    // 0x1.0e4020p-7
VEC(expP1, $0x3d2b9f17)    // 0x1.573e2ep-5
VEC(expP2, $0x3e2aaf33)    // 0x1.555e66p-3
VEC(expP3, $0x3efffedb)    // 0x1.fffdb6p-2
VEC(expP4, $0x3f7ffff6)    // 0x1.ffffecp-1
VEC(expAbs, $0x7fffffff)
VEC(exp126, $0x42fc0000)   // 126.0
VEC(exp192, $0x43400000)   // 192.0
VEC(expG, $0x82000000)
VEC(expS1, $0x7f000000)

// EXPF sets Y1 = expf(Y0), using Y0 and Y2-Y7: z = x·log2e + r,
// n = z - r, b = x - n·ln2 (in two parts), k = 2^n from z's bits, j the
// polynomial in b; j·k + k, or for |n| > 126 (s2·j + s2)·s1 and for
// |n| > 192 s1·s1, with g, s1 and s2 built from n's sign as ggml does.
#define EXPF \
	VMOVUPS expR<>(SB), Y1 \
	VFMADD231PS expLog2e<>(SB), Y0, Y1 \
	VSUBPS expR<>(SB), Y1, Y2 \
	VMOVAPS Y0, Y3 \
	VFNMADD231PS expLn2Hi<>(SB), Y2, Y3 \
	VFNMADD231PS expLn2Lo<>(SB), Y2, Y3 \
	VPSLLD $23, Y1, Y4 \
	VPADDD expOne<>(SB), Y4, Y5 \
	VMULPS Y3, Y3, Y6 \
	VMOVUPS expP1<>(SB), Y7 \
	VFMADD231PS expP0<>(SB), Y3, Y7 \
	VMOVUPS expP3<>(SB), Y1 \
	VFMADD231PS expP2<>(SB), Y3, Y1 \
	VFMADD231PS Y6, Y7, Y1 \
	VMULPS expP4<>(SB), Y3, Y7 \
	VFMADD231PS Y6, Y1, Y7 \
	VMOVAPS Y5, Y1 \
	VFMADD231PS Y5, Y7, Y1 \
	VANDPS expAbs<>(SB), Y2, Y6 \
	VCMPPS $0x1e, exp126<>(SB), Y6, Y6 \
	VXORPS Y3, Y3, Y3 \
	VCMPPS $0x12, Y3, Y2, Y3 \
	VANDPS expG<>(SB), Y3, Y3 \
	VPADDD expS1<>(SB), Y3, Y0 \
	VPSUBD Y3, Y4, Y3 \
	VMOVAPS Y3, Y5 \
	VFMADD231PS Y7, Y3, Y5 \
	VMULPS Y0, Y5, Y5 \
	VBLENDVPS Y6, Y5, Y1, Y1 \
	VANDPS expAbs<>(SB), Y2, Y2 \
	VCMPPS $0x1e, exp192<>(SB), Y2, Y2 \
	VMULPS Y0, Y0, Y4 \
	VBLENDVPS Y2, Y4, Y1, Y1

// func siluMulAVX2(n int, dst, x, up *float32)
// dst[i] = x[i]/(1+expf(-x[i]))·up[i] for i < n, n a multiple of 8.
TEXT ·siluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ x+16(FP), SI
	MOVQ up+24(FP), DX
	SHRQ $3, CX
	JZ siludone
siluloop:
	VMOVUPS (SI), Y8
	VXORPS Y0, Y0, Y0
	VSUBPS Y8, Y0, Y0
	EXPF
	VADDPS expOne<>(SB), Y1, Y1
	VDIVPS Y1, Y8, Y1
	VMULPS (DX), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	DECQ CX
	JNZ siluloop
siludone:
	VZEROUPPER
	RET

// func expSubAVX2(n int, dst, x *float32, m float32)
// dst[i] = expf(x[i] - m) for i < n, n a multiple of 8.
TEXT ·expSubAVX2(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ x+16(FP), SI
	VBROADCASTSS m+24(FP), Y8
	SHRQ $3, CX
	JZ expdone
exploop:
	VMOVUPS (SI), Y0
	VSUBPS Y8, Y0, Y0
	EXPF
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ exploop
expdone:
	VZEROUPPER
	RET

// func roundF16AVX2(n int, dst, src *float32)
// dst = src rounded to binary16 (to nearest even) and back, n a multiple
// of 8.
TEXT ·roundF16AVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	SHRQ $3, CX
	JZ rounddone
roundloop:
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VCVTPH2PS X1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ roundloop
rounddone:
	VZEROUPPER
	RET

// func toF16AVX2(n int, dst *uint16, src *float32)
// dst = src as binary16 (to nearest even), n a multiple of 8.
TEXT ·toF16AVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	SHRQ $3, CX
	JZ tof16done
tof16loop:
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	DECQ CX
	JNZ tof16loop
tof16done:
	VZEROUPPER
	RET

// QKHSUM stores hsum_float_8 of accumulator y (x its low half) to dst,
// using t and u.
#define QKHSUM(y, x, t, u, dst) \
	VEXTRACTF128 $1, y, t \
	VADDPS x, t, t \
	VMOVHLPS t, t, u \
	VADDPS u, t, t \
	VMOVSHDUP t, u \
	VADDSS u, t, t \
	VMOVSS t, dst

// func qkF16AVX2(n, hd int, sc *float32, k *uint16, kstride int, q *float32)
// sc[j] = the dot of k[j·kstride/2:][:hd] (binary16) and q for j < n, hd a
// multiple of 8, as llama.cpp's tinyBLAS sums it under AVX2: element i FMA'd
// into lane i mod 8, the lanes then added ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)).
TEXT ·qkF16AVX2(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ hd+8(FP), BX
	SHRQ $3, BX
	MOVQ sc+16(FP), DX
	MOVQ k+24(FP), SI
	MOVQ kstride+32(FP), R8
	MOVQ q+40(FP), DI
	LEAQ (R8)(R8*2), AX
	// Four keys at a time: four accumulator chains hide the FMA latency
	// that one key's chain waits on.
	CMPQ CX, $4
	JLT qkone
qkpos4:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ BX, R11
qkdim4:
	VMOVUPS (R10), Y8
	VCVTPH2PS (R9), Y4
	VCVTPH2PS (R9)(R8*1), Y5
	VCVTPH2PS (R9)(R8*2), Y6
	VCVTPH2PS (R9)(AX*1), Y7
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y8, Y5, Y1
	VFMADD231PS Y8, Y6, Y2
	VFMADD231PS Y8, Y7, Y3
	ADDQ $16, R9
	ADDQ $32, R10
	DECQ R11
	JNZ qkdim4
	QKHSUM(Y0, X0, X4, X5, 0(DX))
	QKHSUM(Y1, X1, X4, X5, 4(DX))
	QKHSUM(Y2, X2, X4, X5, 8(DX))
	QKHSUM(Y3, X3, X4, X5, 12(DX))
	ADDQ $16, DX
	LEAQ (SI)(R8*4), SI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE qkpos4
qkone:
	TESTQ CX, CX
	JZ qkdone
qkpos:
	VXORPS Y0, Y0, Y0
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ BX, R11
qkdim:
	VCVTPH2PS (R9), Y1
	VFMADD231PS (R10), Y1, Y0
	ADDQ $16, R9
	ADDQ $32, R10
	DECQ R11
	JNZ qkdim
	QKHSUM(Y0, X0, X1, X2, 0(DX))
	ADDQ $4, DX
	ADDQ R8, SI
	DECQ CX
	JNZ qkpos
qkdone:
	VZEROUPPER
	RET

// func pvF16AVX2(n, hd int, slots, p *float32, v *uint16, vstride, slot0 int)
// For j < n: slot s = (slot0+j) mod 8 of slots (hd floats each) gets
// fma(v[j·vstride/2 + d], p[j], slot[d]) for d < hd, hd a multiple of 8:
// tinyBLAS's lanes of P·V, position mod 8.
TEXT ·pvF16AVX2(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ hd+8(FP), R12
	MOVQ slots+16(FP), BX
	MOVQ p+24(FP), DX
	MOVQ v+32(FP), SI
	MOVQ vstride+40(FP), R8
	MOVQ slot0+48(FP), AX
	MOVQ R12, R13
	SHRQ $3, R13
	SHLQ $2, R12
	TESTQ CX, CX
	JZ pvdone
pvpos:
	VBROADCASTSS (DX), Y8
	MOVQ AX, R10
	IMULQ R12, R10
	ADDQ BX, R10
	MOVQ SI, R9
	MOVQ R13, R11
pvdim:
	VCVTPH2PS (R9), Y1
	VMOVUPS (R10), Y2
	VFMADD231PS Y8, Y1, Y2
	VMOVUPS Y2, (R10)
	ADDQ $16, R9
	ADDQ $32, R10
	DECQ R11
	JNZ pvdim
	ADDQ $4, DX
	ADDQ R8, SI
	INCQ AX
	ANDQ $7, AX
	DECQ CX
	JNZ pvpos
pvdone:
	VZEROUPPER
	RET

// Rope's rotation, ggml's x0·cos − x1·sin and x0·sin + x1·cos as GCC
// compiles them with FMA (rope.go): the first product of each fused, the
// second rounded.

// func ropeNeoxAVX2(n int, x0, x1, c, s *float32)
// For i < n (a multiple of 8): pairs (x0[i], x1[i]) at angle (c[i], s[i]).
TEXT ·ropeNeoxAVX2(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ x0+8(FP), SI
	MOVQ x1+16(FP), DI
	MOVQ c+24(FP), R8
	MOVQ s+32(FP), R9
	XORQ AX, AX
	TESTQ CX, CX
	JZ neoxdone
neoxloop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DI)(AX*4), Y1
	VMOVUPS (R8)(AX*4), Y2
	VMOVUPS (R9)(AX*4), Y3
	VMULPS Y3, Y1, Y4
	VFMSUB231PS Y2, Y0, Y4
	VMULPS Y2, Y1, Y5
	VFMADD231PS Y3, Y0, Y5
	VMOVUPS Y4, (SI)(AX*4)
	VMOVUPS Y5, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT neoxloop
neoxdone:
	VZEROUPPER
	RET

// func ropePairsAVX2(n int, x, c, s *float32)
// For i < n (a multiple of 8): pairs (x[i], x[i+1]), i even, at angle
// (c[i], s[i]) = (c[i+1], s[i+1]).
TEXT ·ropePairsAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ c+16(FP), R8
	MOVQ s+24(FP), R9
	XORQ AX, AX
	TESTQ CX, CX
	JZ pairsdone
pairsloop:
	VMOVUPS (SI)(AX*4), Y0
	VPERMILPS $0xb1, Y0, Y1
	VMOVUPS (R8)(AX*4), Y2
	VMOVUPS (R9)(AX*4), Y3
	// Even lanes: x0·c − round(x1·s); odd lanes: x0·s + round(x1·c),
	// where Y1 holds each lane's partner.
	VMULPS Y3, Y1, Y4
	VFMSUB231PS Y2, Y0, Y4
	VMULPS Y2, Y0, Y5
	VFMADD231PS Y3, Y1, Y5
	VBLENDPS $0xaa, Y5, Y4, Y4
	VMOVUPS Y4, (SI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT pairsloop
pairsdone:
	VZEROUPPER
	RET

// func hsum8RowsAVX2(hd int, acc, slots *float32)
// acc[d] = ((s0+s4)+(s2+s6))+((s1+s5)+(s3+s7)) of the eight slots' d
// (slots hd floats apart), hd a multiple of 8.
TEXT ·hsum8RowsAVX2(SB), NOSPLIT, $0-24
	MOVQ hd+0(FP), CX
	MOVQ acc+8(FP), DI
	MOVQ slots+16(FP), SI
	MOVQ CX, R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	XORQ AX, AX
	TESTQ CX, CX
	JZ hsumdone
hsumloop:
	VMOVUPS (SI), Y0
	VADDPS (R10), Y0, Y0
	VMOVUPS (SI)(R8*2), Y2
	VADDPS (R10)(R8*2), Y2, Y2
	VADDPS Y2, Y0, Y0
	VMOVUPS (SI)(R8*1), Y1
	VADDPS (R10)(R8*1), Y1, Y1
	VMOVUPS (SI)(R9*1), Y3
	VADDPS (R10)(R9*1), Y3, Y3
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ hsumloop
hsumdone:
	VZEROUPPER
	RET

// func pvSumF16AVX512(n, hd int, acc, p *float32, v *uint16, vstride, slot0 int)
// acc[d] = tinyBLAS's P·V for d < hd (a multiple of 32): position j's
// value row (v, vstride bytes apart) times p[j] fused into slot (slot0+j)
// mod 8, the slots then added ((s0+s4)+(s2+s6))+((s1+s5)+(s3+s7)); pvF16
// and hsum8Rows in one pass, the slots of 32 dimensions in Z0-Z15 (slot s
// in Z2s, Z2s+1) while the positions go by.
TEXT ·pvSumF16AVX512(SB), NOSPLIT, $0-56
	MOVQ hd+8(FP), BX
	SHRQ $5, BX
	MOVQ acc+16(FP), DI
	MOVQ v+32(FP), R9
	MOVQ vstride+40(FP), R8
	MOVQ slot0+48(FP), AX
pvschunk:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ n+0(FP), CX
	MOVQ p+24(FP), DX
	MOVQ R9, SI
	TESTQ CX, CX
	JZ pvssum
	CMPQ AX, $1
	JEQ pvsstep1
	CMPQ AX, $2
	JEQ pvsstep2
	CMPQ AX, $3
	JEQ pvsstep3
	CMPQ AX, $4
	JEQ pvsstep4
	CMPQ AX, $5
	JEQ pvsstep5
	CMPQ AX, $6
	JEQ pvsstep6
	CMPQ AX, $7
	JEQ pvsstep7
pvsstep0:
	VCVTPH2PS (SI), Z16
	VCVTPH2PS 32(SI), Z17
	VFMADD231PS.BCST (DX), Z16, Z0
	VFMADD231PS.BCST (DX), Z17, Z1
	ADDQ R8, SI
	ADDQ $4, DX
	DECQ CX
	JZ pvssum
pvsstep1:
	VCVTPH2PS (SI), Z16
	VCVTPH2PS 32(SI), Z17
	VFMADD231PS.BCST (DX), Z16, Z2
	VFMADD231PS.BCST (DX), Z17, Z3
	ADDQ R8, SI
	ADDQ $4, DX
	DECQ CX
	JZ pvssum
pvsstep2:
	VCVTPH2PS (SI), Z16
	VCVTPH2PS 32(SI), Z17
	VFMADD231PS.BCST (DX), Z16, Z4
	VFMADD231PS.BCST (DX), Z17, Z5
	ADDQ R8, SI
	ADDQ $4, DX
	DECQ CX
	JZ pvssum
pvsstep3:
	VCVTPH2PS (SI), Z16
	VCVTPH2PS 32(SI), Z17
	VFMADD231PS.BCST (DX), Z16, Z6
	VFMADD231PS.BCST (DX), Z17, Z7
	ADDQ R8, SI
	ADDQ $4, DX
	DECQ CX
	JZ pvssum
pvsstep4:
	VCVTPH2PS (SI), Z16
	VCVTPH2PS 32(SI), Z17
	VFMADD231PS.BCST (DX), Z16, Z8
	VFMADD231PS.BCST (DX), Z17, Z9
	ADDQ R8, SI
	ADDQ $4, DX
	DECQ CX
	JZ pvssum
pvsstep5:
	VCVTPH2PS (SI), Z16
	VCVTPH2PS 32(SI), Z17
	VFMADD231PS.BCST (DX), Z16, Z10
	VFMADD231PS.BCST (DX), Z17, Z11
	ADDQ R8, SI
	ADDQ $4, DX
	DECQ CX
	JZ pvssum
pvsstep6:
	VCVTPH2PS (SI), Z16
	VCVTPH2PS 32(SI), Z17
	VFMADD231PS.BCST (DX), Z16, Z12
	VFMADD231PS.BCST (DX), Z17, Z13
	ADDQ R8, SI
	ADDQ $4, DX
	DECQ CX
	JZ pvssum
pvsstep7:
	VCVTPH2PS (SI), Z16
	VCVTPH2PS 32(SI), Z17
	VFMADD231PS.BCST (DX), Z16, Z14
	VFMADD231PS.BCST (DX), Z17, Z15
	ADDQ R8, SI
	ADDQ $4, DX
	DECQ CX
	JZ pvssum
	JMP pvsstep0
pvssum:
	VADDPS Z8, Z0, Z16
	VADDPS Z12, Z4, Z17
	VADDPS Z17, Z16, Z16
	VADDPS Z10, Z2, Z18
	VADDPS Z14, Z6, Z19
	VADDPS Z19, Z18, Z18
	VADDPS Z18, Z16, Z16
	VMOVUPS Z16, 0(DI)
	VADDPS Z9, Z1, Z16
	VADDPS Z13, Z5, Z17
	VADDPS Z17, Z16, Z16
	VADDPS Z11, Z3, Z18
	VADDPS Z15, Z7, Z19
	VADDPS Z19, Z18, Z18
	VADDPS Z18, Z16, Z16
	VMOVUPS Z16, 64(DI)
	ADDQ $64, R9
	ADDQ $128, DI
	DECQ BX
	JNZ pvschunk
	VZEROUPPER
	RET

// Package kernels holds the compute backends behind one interface:
// kernels/cpu (Go and amd64 assembly) and kernels/cuda (CUDA through purego,
// no cgo). Tensor types come from package gguf's type table.
//
// It is empty until the CPU runtime lands (issue 4).
package kernels

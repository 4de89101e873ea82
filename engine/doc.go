// Package engine turns a loaded model file into a running model: the
// architectures (one file each), the KV cache, sampling and scheduling, and
// the HTTP server over them in engine/server.
//
// It is empty until the CPU runtime lands (issue 4); the package exists so
// the layout the other packages build toward is visible.
package engine

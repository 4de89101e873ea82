// Package bench is the benchmark and quality harness behind `owl bench` and
// `owl perplexity`: tokens per second, perplexity, KL divergence, reports.
//
// It is empty until those commands land; the per-package `go test -bench`
// benchmarks (dequantization, tokenization) already exist beside their code.
package bench

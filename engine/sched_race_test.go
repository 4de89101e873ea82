//go:build race

package engine

// raceEnabled lets slow tests pick smaller inputs under the race detector,
// which makes the pure-Go kernels many times slower.
const raceEnabled = true

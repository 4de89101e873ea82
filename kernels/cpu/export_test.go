package cpu

import "testing"

// ForKernelSets is forKernelSets for the external tests.
func ForKernelSets(t *testing.T, f func(t *testing.T)) { forKernelSets(t, f) }

package cpu

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// countTask records how many items each worker ran.
type countTask struct {
	items   []atomic.Int32
	workers []atomic.Int32
	delay   time.Duration
}

func (c *countTask) do(w, lo, hi int) {
	for i := lo; i < hi; i++ {
		c.items[i].Add(1)
		if c.delay > 0 {
			time.Sleep(c.delay)
		}
	}
	c.workers[w].Add(int32(hi - lo))
}

// TestPoolSpinAndPark runs tasks back to back (helpers spinning) and after
// pauses long enough for the helpers to park, and checks that every item
// runs exactly once and that parked helpers wake and take part.
func TestPoolSpinAndPark(t *testing.T) {
	const threads = 3
	p := newPool(threads)
	defer p.close()
	for round := 0; round < 40; round++ {
		c := &countTask{items: make([]atomic.Int32, 64), workers: make([]atomic.Int32, threads)}
		if round%10 == 9 {
			c.delay = 200 * time.Microsecond // long enough for every helper to join
		}
		// More threads than cores (or a busy machine) can put the pool in
		// solo mode (TestPoolSolo); this test wants the helpers.
		p.solo = 0
		p.run(c, len(c.items), 1)
		for i := range c.items {
			if n := c.items[i].Load(); n != 1 {
				t.Fatalf("round %d: item %d ran %d times", round, i, n)
			}
		}
		if c.delay > 0 {
			for w := range c.workers {
				if c.workers[w].Load() == 0 {
					t.Errorf("round %d: worker %d ran nothing", round, w)
				}
			}
		}
		if round%4 == 3 {
			// Past spinLimit checks: the helpers park.
			deadline := time.Now().Add(2 * time.Second)
			for !allParked(p) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if !allParked(p) {
				t.Fatalf("round %d: helpers still spinning after 2 s", round)
			}
		}
	}
}

func allParked(p *pool) bool {
	for i := range p.parked {
		if !p.parked[i].Load() {
			return false
		}
	}
	return true
}

// TestPoolCloseWhileSpinning closes a pool whose helpers are still
// spinning and one whose helpers are parked: both stop their goroutines.
func TestPoolCloseWhileSpinning(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, park := range []bool{false, true} {
		p := newPool(3)
		c := &countTask{items: make([]atomic.Int32, 8), workers: make([]atomic.Int32, 3)}
		p.run(c, 8, 1)
		if park {
			deadline := time.Now().Add(2 * time.Second)
			for !allParked(p) {
				if time.Now().After(deadline) {
					t.Fatal("helpers still spinning after 2 s")
				}
				time.Sleep(time.Millisecond)
			}
		}
		p.close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before {
		t.Fatalf("%d goroutines left after close", got-before)
	}
}

// TestPoolSolo checks the caller-only mode that run falls into when
// helpers get no CPU: every item still runs once, the helpers take no
// part, and after soloRuns tasks they are used again.
func TestPoolSolo(t *testing.T) {
	const threads = 2
	p := newPool(threads)
	defer p.close()
	p.solo = soloRuns
	for round := 0; round <= soloRuns; round++ {
		c := &countTask{items: make([]atomic.Int32, 16), workers: make([]atomic.Int32, threads)}
		if round == soloRuns {
			c.delay = 200 * time.Microsecond
		}
		p.run(c, len(c.items), 1)
		for i := range c.items {
			if n := c.items[i].Load(); n != 1 {
				t.Fatalf("round %d: item %d ran %d times", round, i, n)
			}
		}
		helped := c.workers[1].Load()
		switch {
		case round < soloRuns && helped != 0:
			t.Fatalf("round %d: a helper ran %d items in solo mode", round, helped)
		case round == soloRuns && helped == 0:
			t.Fatalf("the helper still idle after %d solo tasks", soloRuns)
		}
	}
}

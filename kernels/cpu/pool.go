package cpu

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
)

// task is one operation split into items [0, n): do runs items [lo, hi) on
// worker w (0 is the calling goroutine). Items must be independent, so that
// the result does not depend on which worker runs which item.
type task interface {
	do(w, lo, hi int)
}

// pool is a fixed set of worker goroutines started once. run hands the same
// task to every worker; each takes chunks of grain items from a shared
// counter until none are left. Nothing is allocated per call.
//
// A forward pass is hundreds of operations of a few microseconds each, far
// shorter than waking a parked goroutine, so between operations the helpers
// spin on a generation counter for a while (spinLimit checks, about a
// millisecond) and only then park on their channel, as ggml's thread pool
// does. An idle pool therefore costs no CPU after that millisecond.
type pool struct {
	threads int
	wake    []chan struct{} // one per helper goroutine (workers 1..threads-1)
	parked  []atomic.Bool   // helper i is blocked, or about to block, on wake[i]
	gen     atomic.Uint64   // bumped by run to start helpers on the current task
	pending atomic.Int64    // helpers still inside the current task
	waiting atomic.Bool     // run sleeps on done for the last helper
	done    chan struct{}
	helped  atomic.Int64 // chunks the helpers ran in the current task
	solo    int          // tasks run leaves to the caller alone (run's own)
	strikes int          // consecutive tasks whose helpers were late and idle
	closed  atomic.Bool

	// The current call, written before gen is bumped (which orders it
	// before the helpers' reads).
	t     task
	n     int
	grain int
	next  atomic.Int64
}

// spinLimit is how many times an idle helper checks for work before it
// parks; waitSpins how many times run checks for late helpers before it
// sleeps (about 20 µs).
const (
	spinLimit   = 1 << 18
	waitSpins   = 1 << 14
	soloRuns    = 256 // about one decoded token's operations
	soloStrikes = 3
)

func newPool(threads int) *pool {
	p := &pool{threads: threads, done: make(chan struct{}, 1)}
	p.wake = make([]chan struct{}, threads-1)
	p.parked = make([]atomic.Bool, threads-1)
	for i := range p.wake {
		p.wake[i] = make(chan struct{}, 1)
		go p.worker(i, p.wake[i])
	}
	return p
}

func (p *pool) worker(i int, wake <-chan struct{}) {
	// gen starts at 0 when the pool is made, before this goroutine runs:
	// a run that comes first must still be seen.
	var seen uint64
	for {
		g := p.gen.Load()
		for spins := 0; g == seen; spins++ {
			if spins >= spinLimit {
				// Park. Whoever clears parked first decides: run's
				// CompareAndSwap wins and sends a wake, or this one wins
				// because work arrived meanwhile and no wake is sent.
				p.parked[i].Store(true)
				if p.gen.Load() == seen && !p.closed.Load() || !p.parked[i].CompareAndSwap(true, false) {
					<-wake
				}
				spins = 0
			}
			if p.closed.Load() {
				return
			}
			g = p.gen.Load()
		}
		seen = g
		p.loop(i + 1)
		if p.pending.Add(-1) == 0 && p.waiting.CompareAndSwap(true, false) {
			p.done <- struct{}{}
		}
	}
}

func (p *pool) loop(w int) {
	n, g := p.n, p.grain
	for {
		lo := int(p.next.Add(int64(g))) - g
		if lo >= n {
			return
		}
		p.t.do(w, lo, min(lo+g, n))
		if w > 0 {
			p.helped.Add(1)
		}
	}
}

// run performs items [0, n) of t in chunks of grain. Work of a single chunk,
// or a pool of one, runs on the caller without involving anyone.
func (p *pool) run(t task, n, grain int) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	if p.threads == 1 || n <= grain || p.solo > 0 {
		if p.solo > 0 {
			p.solo--
		}
		t.do(0, 0, n)
		return
	}
	p.helped.Store(0)
	p.t, p.n, p.grain = t, n, grain
	p.next.Store(0)
	// Every helper joins each run, even one with fewer chunks than helpers:
	// they then find the counter exhausted at once.
	p.pending.Store(int64(len(p.wake)))
	p.gen.Add(1)
	woken := 0
	for i := range p.wake {
		if p.parked[i].CompareAndSwap(true, false) {
			p.wake[i] <- struct{}{}
			woken++
		}
	}
	p.loop(0)
	for spins := 0; p.pending.Load() != 0; spins++ {
		if spins < waitSpins {
			continue
		}
		// A helper is late (the machine is busier than its cores, or a
		// chunk is long): sleep until the last one is done rather than
		// take CPU time from it. Whoever clears waiting first decides
		// whether a wake is sent, as for parking.
		p.waiting.Store(true)
		if p.pending.Load() != 0 || !p.waiting.CompareAndSwap(true, false) {
			<-p.done
		}
		if p.helped.Load() == 0 && woken == 0 {
			// The helpers were spinning, did nothing and still had to be
			// waited for. Several times in a row means they are not
			// getting a CPU: run alone for a while rather than wait for
			// the OS to schedule them at every operation.
			if p.strikes++; p.strikes >= soloStrikes {
				p.solo, p.strikes = soloRuns, 0
			}
		}
		break
	}
	if p.helped.Load() != 0 {
		p.strikes = 0
	}
	p.t = nil
}

func (p *pool) close() {
	p.closed.Store(true)
	for i := range p.wake {
		if p.parked[i].CompareAndSwap(true, false) {
			p.wake[i] <- struct{}{}
		}
	}
}

// PhysicalCores returns the number of physical CPU cores, best effort: on
// Linux the distinct (physical id, core id) pairs of /proc/cpuinfo, else
// runtime.NumCPU. Matrix work gains little from a core's second hardware
// thread, so this is the default thread count.
func PhysicalCores() int {
	n := runtime.NumCPU()
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return n
	}
	defer f.Close()
	cores := map[[2]string]bool{}
	var phys, core string
	flush := func() {
		if core != "" {
			cores[[2]string{phys, core}] = true
		}
		phys, core = "", ""
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "physical id":
			phys = strings.TrimSpace(v)
		case "core id":
			core = strings.TrimSpace(v)
		}
	}
	flush()
	if c := len(cores); c > 0 && c <= n {
		return c
	}
	return n
}

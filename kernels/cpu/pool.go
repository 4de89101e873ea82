package cpu

import (
	"bufio"
	"os"
	"runtime"
	"strings"
	"sync"
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
type pool struct {
	threads int
	wake    []chan struct{} // one per helper goroutine (workers 1..threads-1)
	done    sync.WaitGroup

	// The current call, written before the helpers are woken (the channel
	// send orders it before their reads).
	t     task
	n     int
	grain int
	next  atomic.Int64
}

func newPool(threads int) *pool {
	p := &pool{threads: threads}
	p.wake = make([]chan struct{}, threads-1)
	for i := range p.wake {
		ch := make(chan struct{}, 1)
		p.wake[i] = ch
		go p.worker(i+1, ch)
	}
	return p
}

func (p *pool) worker(w int, wake <-chan struct{}) {
	for range wake {
		p.loop(w)
		p.done.Done()
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
	}
}

// run performs items [0, n) of t in chunks of grain. Work of a single chunk,
// or a pool of one, runs on the caller without waking anyone.
func (p *pool) run(t task, n, grain int) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	if p.threads == 1 || n <= grain {
		t.do(0, 0, n)
		return
	}
	p.t, p.n, p.grain = t, n, grain
	p.next.Store(0)
	helpers := min(len(p.wake), (n+grain-1)/grain-1)
	p.done.Add(helpers)
	for _, ch := range p.wake[:helpers] {
		ch <- struct{}{}
	}
	p.loop(0)
	p.done.Wait()
	p.t = nil
}

func (p *pool) close() {
	for _, ch := range p.wake {
		close(ch)
	}
	p.wake = nil
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

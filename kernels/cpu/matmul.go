package cpu

import (
	"fmt"

	"github.com/openweights/owl/gguf"
	"github.com/openweights/owl/kernels"
)

// convTask converts rows of activations to a dot type: to bytes with
// from, or (widen) to float32 values rounded through binary16.
type convTask struct {
	src   []float32
	cols  int
	dst   []byte
	rb    int
	from  func(dst []byte, src []float32)
	widen []float32 // when set, round through binary16 (bf16) into it
	bf16  bool
	la    *laneActs // when set, also lays each row out for the lane kernels
}

// laneActs is what the lane kernels read of a MatMul's activations besides
// the converted rows: each group of four rows' side floats (laneSide,
// sideLen floats a group; q81 and shift as laneKernel's), and the first n8
// rows interleaved for tile8 (write8, the kernel's layout8: xiLen bytes and
// side8Len floats a group of eight; side then holds only the rows after).
type laneActs struct {
	side            []float32
	sideLen         int
	q81             bool
	shift           int
	xi              []byte
	side8           []float32
	n8              int
	xiLen, side8Len int
	write8          func(xi []byte, side []float32, k int, x []byte, n int)
}

// lay writes row i of the activations (x, of n values in the dot type).
func (a *laneActs) lay(i int, x []byte, n int) {
	if i < a.n8 {
		g := i / 8
		a.write8(a.xi[g*a.xiLen:(g+1)*a.xiLen], a.side8[g*a.side8Len:(g+1)*a.side8Len], i%8, x, n)
		return
	}
	if a.side != nil {
		g := i / 4
		laneSide(a.side[g*a.sideLen:(g+1)*a.sideLen], i%4, x, n/qk, a.q81, a.shift)
	}
}

func (c *convTask) do(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		x := c.src[i*c.cols : (i+1)*c.cols]
		if c.widen == nil {
			c.from(c.dst[i*c.rb:(i+1)*c.rb], x)
			if c.la != nil {
				c.la.lay(i, c.dst[i*c.rb:(i+1)*c.rb], c.cols)
			}
			continue
		}
		y := c.widen[i*c.cols : (i+1)*c.cols]
		if c.bf16 {
			for j, v := range x {
				y[j] = bf16(gguf.Float32ToBF16(v))
			}
			continue
		}
		roundF16Vec(y, x)
	}
}

// matmulTask computes dst[i, r] = w[r]·x[i] over tiles of wTile rows of w
// by xTile rows of x; item k is tile (k/tilesX, k%tilesX), so consecutive
// items share their rows of w.
type matmulTask struct {
	w      []byte
	wrb    int
	rows   int
	x      []byte // x in the dot type, xrb bytes a row
	xrb    int
	xf     []float32 // or x widened to float32 (F16 and BF16 weights)
	wtype  gguf.Type
	rowBuf [][]float32 // per-worker row of w widened to float32
	n      int
	cols   int
	dst    []float32
	dot    func(n int, w, x []byte) float32
	wTile  int
	xTile  int
	tilesX int
	bk     *batchKernel    // batched form of dot, or nil
	lk     laneKernel      // lane kernels (lanes.go), when the type has them (lk.dot set)
	la     laneActs        // x laid out for the lane kernels
	unp    []*batchScratch // per-worker unpacked rows of w for bk
	xp     []uint64        // x packed for bk, three rows per cols values
	zero   []byte          // xrb zero bytes
}

func (m *matmulTask) do(w, lo, hi int) {
	for k := lo; k < hi; k++ {
		r0 := k / m.tilesX * m.wTile
		i0 := k % m.tilesX * m.xTile
		r1 := min(r0+m.wTile, m.rows)
		i1 := min(i0+m.xTile, m.n)
		if m.lk.dot != nil {
			m.laneTile(r0, r1, i0, i1)
			continue
		}
		if m.bk != nil && i1-i0 >= 2 {
			m.batched(m.unp[w], r0, r1, i0, i1)
			continue
		}
		for r := r0; r < r1; r++ {
			wr := m.w[r*m.wrb : (r+1)*m.wrb]
			if m.xf != nil {
				// Widened once per tile row; dotF32s adds in dotF16's and
				// dotBF16's order, so the sums are theirs exactly.
				wf := m.rowBuf[w][:m.cols]
				widen(m.wtype, wf, wr)
				i := i0
				for ; i+2 <= i1; i += 2 {
					m.dst[i*m.rows+r], m.dst[(i+1)*m.rows+r] = dotF32s2(wf, m.xf[i*m.cols:(i+1)*m.cols], m.xf[(i+1)*m.cols:(i+2)*m.cols])
				}
				if i < i1 {
					m.dst[i*m.rows+r] = dotF32s(wf, m.xf[i*m.cols:(i+1)*m.cols])
				}
				continue
			}
			for i := i0; i < i1; i++ {
				m.dst[i*m.rows+r] = m.dot(m.cols, wr, m.x[i*m.xrb:(i+1)*m.xrb])
			}
		}
	}
}

// laneTile computes the tile rows [r0, r1) of w by rows [i0, i1) of x with
// the lane kernels: four rows of x at a time meet each row of w (the w
// rows of a tile and the four x rows stay in L1 while dst is written along
// its rows); remaining rows of x (decoding) go one by one, their block
// scales also from side. (A kernel of
// four w rows against one x row was 1.5× faster with w in L2 but slower
// on a model: four interleaved streams from memory prefetch worse than
// one.)
func (m *matmulTask) laneTile(r0, r1, i0, i1 int) {
	i := i0
	la := &m.la
	for ; i+8 <= min(i1, la.n8); i += 8 {
		g := i / 8
		m.lk.tile8(m.cols, m.w[r0*m.wrb:r1*m.wrb], m.wrb, r1-r0, la.xi[g*la.xiLen:(g+1)*la.xiLen], la.side8[g*la.side8Len:(g+1)*la.side8Len], m.dst[i*m.rows+r0:], m.rows)
	}
	for ; i+4 <= i1; i += 4 {
		var side []float32
		if la.side != nil {
			side = la.side[i/4*la.sideLen : (i/4+1)*la.sideLen]
		}
		m.lk.tile4(m.cols, m.w[r0*m.wrb:r1*m.wrb], m.wrb, r1-r0, m.x[i*m.xrb:(i+4)*m.xrb], m.xrb, side, m.dst[i*m.rows+r0:], m.rows)
	}
	for ; i < i1; i++ {
		x := m.x[i*m.xrb : (i+1)*m.xrb]
		d := m.dst[i*m.rows : (i+1)*m.rows]
		if m.lk.dotRows == nil {
			for r := r0; r < r1; r++ {
				d[r] = m.lk.dot(m.cols, m.w[r*m.wrb:(r+1)*m.wrb], x)
			}
			continue
		}
		side := la.side[i/4*la.sideLen : (i/4+1)*la.sideLen]
		m.lk.dotRows(m.cols, m.w[r0*m.wrb:r1*m.wrb], m.wrb, r1-r0, x, side, i%4, d[r0:r1])
	}
}

// batched computes the tile rows [r0, r1) of w by rows [i0, i1) of x with
// m.bk: up to len(us) rows of w are unpacked, then each group of three x
// rows (packed by packTask, small enough to stay in L1) is dotted with all
// of them.
func (m *matmulTask) batched(bs *batchScratch, r0, r1, i0, i1 int) {
	us := bs.us
	for ra := r0; ra < r1; ra += len(us) {
		rb := min(ra+len(us), r1)
		for r := ra; r < rb; r++ {
			m.bk.unpack(&us[r-ra], m.w[r*m.wrb:(r+1)*m.wrb], m.cols)
		}
		// i0 is a multiple of 3 (xTile is), so packed group i/3 starts at i.
		i := i0
		for ; i+6 <= i1; i += 6 {
			xs, s := &bs.xs, &bs.out // in scratch: pointers to them escape
			for j := range xs {
				xs[j] = m.x[(i+j)*m.xrb : (i+j+1)*m.xrb]
			}
			p := m.xp[i/3*m.cols : (i/3+1)*m.cols]
			p2 := m.xp[(i/3+1)*m.cols : (i/3+2)*m.cols]
			for r := ra; r < rb; r++ {
				m.bk.dot6(&us[r-ra], m.cols, p, p2, xs, s)
				for j, v := range s {
					m.dst[(i+j)*m.rows+r] = v
				}
			}
		}
		for ; i < i1; i += 3 {
			k := min(3, i1-i)
			var xs [3][]byte
			for j := range xs {
				// Missing rows repeat the last one; their sums are dropped.
				ij := i + min(j, k-1)
				xs[j] = m.x[ij*m.xrb : (ij+1)*m.xrb]
			}
			p := m.xp[i/3*m.cols : (i/3+1)*m.cols]
			for r := ra; r < rb; r++ {
				s := m.bk.dot3(&us[r-ra], m.cols, p, xs[0], xs[1], xs[2])
				for j := 0; j < k; j++ {
					m.dst[(i+j)*m.rows+r] = s[j]
				}
			}
		}
	}
}

// packTask packs groups of three rows of x for a batchKernel.
type packTask struct {
	m *matmulTask
}

func (t *packTask) do(_, lo, hi int) {
	m := t.m
	for g := lo; g < hi; g++ {
		var xs [3][]byte
		for j := range xs {
			// Rows past n (the last group) pack as zeros.
			if i := 3*g + j; i < m.n {
				xs[j] = m.x[i*m.xrb : (i+1)*m.xrb]
			} else {
				xs[j] = m.zero
			}
		}
		bk := m.bk
		packX(m.xp[g*m.cols:(g+1)*m.cols], xs[0], xs[1], xs[2], m.cols, bk.blockBytes, bk.valOff, bk.blockVals)
	}
}

// layLanes sizes la for n rows of cols activations read by lk: side floats
// for every group of four rows when lk reads them, and the whole groups of
// eight interleaved when it has tile8; the buffers are b's, grown as needed.
func (b *Backend) layLanes(la *laneActs, lk laneKernel, n, cols int, q81 bool) {
	*la = laneActs{q81: q81, shift: lk.shift}
	if lk.dotRows != nil { // the kernel reads side floats
		la.sideLen = laneSideLen(cols/qk, q81, lk.shift)
		need := (n + 3) / 4 * la.sideLen
		if len(b.side) < need {
			b.side = make([]float32, need)
		}
		la.side = b.side[:need]
	}
	if g8 := n / 8; lk.tile8 != nil && g8 > 0 {
		la.n8, la.xiLen, la.side8Len, la.write8 = 8*g8, lk.layout8.xiLen(cols), lk.layout8.sideLen(cols), lk.layout8.write
		if len(b.xi) < g8*la.xiLen {
			b.xi = make([]byte, g8*la.xiLen)
		}
		if len(b.side8) < g8*la.side8Len {
			b.side8 = make([]float32, g8*la.side8Len)
		}
		la.xi, la.side8 = b.xi[:g8*la.xiLen], b.side8[:g8*la.side8Len]
	}
}

// MatMul sets dst[n, r] = Σ_c x[n, c]·w[r, c]. x (F32) is converted once to
// w's dot type, as ggml does; then each output is one VecDot (for two or
// more rows of x and the common quant types, batched kernels that give the
// same bits: matmul_batch.go). Few rows of x (decoding) are split over rows
// of w; many rows over tiles of both.
func (b *Backend) MatMul(dst, w, x *kernels.Tensor) {
	b.lock()
	defer b.mu.Unlock()
	tr := traits[w.Type]
	if tr == nil {
		panic(fmt.Sprintf("cpu: MatMul: weight type %v not supported", w.Type))
	}
	cols, rows := w.Cols(), w.Rows()
	xs := f32Of(x, "MatMul", "x")
	ds := f32Of(dst, "MatMul", "dst")
	if x.Cols() != cols {
		panic(fmt.Sprintf("cpu: MatMul: x %v and w %v differ in row length", x, w))
	}
	n := x.Rows()
	if len(ds) != n*rows {
		panic(fmt.Sprintf("cpu: MatMul: dst %v, want %d×%d", dst, n, rows))
	}
	wrb := w.RowBytes()
	if len(w.Data) < rows*wrb {
		panic(fmt.Sprintf("cpu: MatMul: w %v has %d bytes", w, len(w.Data)))
	}
	if n == 0 || rows == 0 {
		return
	}

	m := &b.mm
	*m = matmulTask{w: w.Data, wrb: wrb, rows: rows, n: n, cols: cols, dst: ds, dot: tr.VecDot}
	switch {
	case w.Type == gguf.TypeF16 || w.Type == gguf.TypeBF16:
		// x rounded to the weight type but kept as float32, and each row
		// of w widened once per tile: the F16/BF16 dot's sums without
		// converting every element for every product.
		if len(b.xf) < n*cols {
			b.xf = make([]float32, n*cols)
		}
		m.xf, m.wtype = b.xf[:n*cols], w.Type
		b.workerScratch(cols)
		m.rowBuf = b.scratch
		b.conv = convTask{src: xs, cols: cols, widen: m.xf, bf16: w.Type == gguf.TypeBF16}
		b.pool.run(&b.conv, n, grainFor(cols))
	case tr.FromFloat == nil:
		m.x, m.xrb = f32Bytes(xs), 4*cols
	default:
		rs, ok := tr.VecDotType.RowSize(int64(cols))
		if !ok {
			panic(fmt.Sprintf("cpu: MatMul: %d columns do not fit %v blocks", cols, tr.VecDotType))
		}
		m.xrb = int(rs)
		if len(b.xq) < n*m.xrb {
			b.xq = make([]byte, n*m.xrb)
		}
		m.x = b.xq[:n*m.xrb]
		b.conv = convTask{src: xs, cols: cols, dst: m.x, rb: m.xrb, from: tr.FromFloat}
		lk, lanes := laneKernelFor(w.Type)
		if lanes {
			m.lk = lk
			b.layLanes(&m.la, lk, n, cols, tr.VecDotType == gguf.TypeQ8_1)
			b.conv.la = &m.la
		}
		b.pool.run(&b.conv, n, grainFor(cols))
		if bk := batchKernels[w.Type]; !lanes && bk != nil && n >= 2 {
			m.bk, m.unp = bk, b.unpackScratch(cols)
			groups := (n + 2) / 3
			if len(b.xp) < groups*cols {
				b.xp = make([]uint64, groups*cols)
			}
			if len(b.zero) < m.xrb {
				b.zero = make([]byte, m.xrb)
			}
			m.xp, m.zero = b.xp[:groups*cols], b.zero[:m.xrb]
			b.pack = packTask{m: m}
			b.pool.run(&b.pack, groups, max(1, grainFor(cols)/3))
			b.pack = packTask{}
		}
	}

	if n <= 3 {
		// Decoding: every row of w is read once and dotted with the few x
		// rows; chunks of w rows keep all workers busy.
		m.xTile, m.tilesX = n, 1
		m.wTile = min(max((rows+8*b.threads-1)/(8*b.threads), 4), 256)
	} else {
		m.xTile = min(n, 64)
		if m.bk != nil {
			m.xTile = min(n, 63) // whole packed groups of three
		}
		if m.lk.dot != nil {
			m.xTile = min(n, 32) // whole groups of eight, in L1/L2 with a row of w
		}
		m.tilesX = (n + m.xTile - 1) / m.xTile
		m.wTile = 16
	}
	tiles := (rows + m.wTile - 1) / m.wTile * m.tilesX
	b.pool.run(m, tiles, 1)
	*m = matmulTask{}
	b.conv = convTask{}
}

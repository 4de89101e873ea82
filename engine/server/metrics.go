package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (several servers may live in one process, as in tests).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	prompt   *prometheus.CounterVec
	cached   *prometheus.CounterVec
	gen      *prometheus.CounterVec
	ttft     *prometheus.HistogramVec
	tpot     *prometheus.HistogramVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_http_requests_total", Help: "HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "owl_http_request_duration_seconds", Help: "Time to answer a request (to the end of its stream).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"endpoint"}),
		prompt: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_prompt_tokens_total", Help: "Prompt tokens evaluated.",
		}, []string{"model"}),
		cached: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_prompt_tokens_cached_total", Help: "Prompt tokens reused from the KV cache instead of evaluated.",
		}, []string{"model"}),
		gen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "owl_generated_tokens_total", Help: "Tokens generated.",
		}, []string{"model"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "owl_time_to_first_token_seconds", Help: "Time from a request's arrival to its first generated token.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"model"}),
		tpot: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "owl_time_per_output_token_seconds", Help: "Mean time between generated tokens of a request, after the first.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"model"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.prompt, m.cached, m.gen, m.ttft, m.tpot,
		engineCollector{s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observeRequest(endpoint string, status int, d time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(endpoint).Observe(d.Seconds())
}

func (m *metrics) tokens(model string, evaluated, cached, generated int) {
	m.prompt.WithLabelValues(model).Add(float64(evaluated))
	m.cached.WithLabelValues(model).Add(float64(cached))
	m.gen.WithLabelValues(model).Add(float64(generated))
}

// engineCollector reads each model's engine Stats at scrape time.
type engineCollector struct{ s *Server }

var (
	descQueue   = prometheus.NewDesc("owl_queue_depth", "Requests waiting for a slot.", []string{"model"}, nil)
	descQueueSz = prometheus.NewDesc("owl_queue_size", "Requests that may wait for a slot before the server answers 503.", []string{"model"}, nil)
	descSlots   = prometheus.NewDesc("owl_slots", "Slots (sequences decoded together).", []string{"model"}, nil)
	descBusy    = prometheus.NewDesc("owl_slots_busy", "Slots running a request.", []string{"model"}, nil)
	descKV      = prometheus.NewDesc("owl_kv_cache_cells", "KV-cache capacity in token positions.", []string{"model"}, nil)
	descKVUsed  = prometheus.NewDesc("owl_kv_cache_cells_used", "KV-cache positions holding tokens (including prefixes kept for reuse).", []string{"model"}, nil)
	descSteps   = prometheus.NewDesc("owl_batch_steps_total", "Batched forward passes.", []string{"model"}, nil)
)

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descQueueSz, descSlots, descBusy, descKV, descKVUsed, descSteps} {
		ch <- d
	}
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.s.modelList() {
		st := m.Engine.Stats()
		gauge := func(d *prometheus.Desc, v int) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), m.ID)
		}
		gauge(descQueue, st.Queued)
		gauge(descQueueSz, st.QueueSize)
		gauge(descSlots, st.Slots)
		gauge(descBusy, st.BusySlots)
		gauge(descKV, st.KVCells)
		gauge(descKVUsed, st.KVCellsUsed)
		ch <- prometheus.MustNewConstMetric(descSteps, prometheus.CounterValue, float64(st.Steps), m.ID)
	}
}

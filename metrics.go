package pyhttp

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/pyhttp/caddy-pyhttp/internal/cgihost"
)

// CGI metrics live in the config's metrics registry
// (caddy.Context.GetMetricsRegistry), as Caddy's own caddy_http_* metrics
// do. Caddy makes a new registry for every config load, so the collectors
// are made per registry, shared by every pyhttp_cgi handler of that config
// (a second registration of the same name would fail), and unregistered
// when the last of those handlers is cleaned up. Like caddy_http_*, the
// counters therefore restart at zero on a reload (rate() and increase()
// handle that), and the gauges count the scripts of the current config.

const metricsNamespace, metricsSubsystem = "caddy", "pyhttp_cgi"

// cgiMetrics is the set of collectors of one registry.
type cgiMetrics struct {
	registry *prometheus.Registry
	refs     int // handlers using it; guarded by metricsMu

	started    *prometheus.CounterVec
	running    *prometheus.GaugeVec
	waiting    *prometheus.GaugeVec
	queueWait  *prometheus.HistogramVec
	duration   *prometheus.HistogramVec
	rejections *prometheus.CounterVec
	timeouts   *prometheus.CounterVec
	kills      *prometheus.CounterVec
	exits      *prometheus.CounterVec
	bytesIn    *prometheus.CounterVec
	bytesOut   *prometheus.CounterVec

	// byServer caches the collectors curried with one server's labels, so
	// that an event costs no label lookup.
	byServer sync.Map // server name -> *serverMetrics
}

var (
	metricsMu   sync.Mutex
	metricsSets = map[*prometheus.Registry]*cgiMetrics{}
)

// metricLabels: server is Caddy's server name (srv0, or the name given in
// the servers global option), handler the module's name, as in Caddy's
// caddy_http_* metrics, so the two can be joined.
var metricLabels = []string{"server", "handler"}

// acquireMetrics returns the collectors of ctx's registry, creating and
// registering them for the first handler.
func acquireMetrics(ctx caddy.Context) (*cgiMetrics, error) {
	reg := ctx.GetMetricsRegistry()
	metricsMu.Lock()
	defer metricsMu.Unlock()
	if m := metricsSets[reg]; m != nil {
		m.refs++
		return m, nil
	}
	m := newCGIMetrics(reg)
	for i, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors()[:i] {
				reg.Unregister(done)
			}
			return nil, err
		}
	}
	m.refs = 1
	metricsSets[reg] = m
	return m, nil
}

// release drops one handler's use of m; the last one unregisters the
// collectors, so nothing of an unloaded config stays in a registry or in
// metricsSets.
func (m *cgiMetrics) release() {
	metricsMu.Lock()
	defer metricsMu.Unlock()
	m.refs--
	if m.refs > 0 {
		return
	}
	for _, c := range m.collectors() {
		m.registry.Unregister(c)
	}
	delete(metricsSets, m.registry)
}

func newCGIMetrics(reg *prometheus.Registry) *cgiMetrics {
	counter := func(name, help string, extra ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: name, Help: help,
		}, append(append([]string{}, metricLabels...), extra...))
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: name, Help: help,
		}, metricLabels)
	}
	histogram := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: name, Help: help, Buckets: buckets,
		}, metricLabels)
	}
	return &cgiMetrics{
		registry:   reg,
		started:    counter("scripts_started_total", "CGI scripts spawned."),
		running:    gauge("scripts_running", "CGI scripts spawned and not yet reaped."),
		waiting:    gauge("requests_waiting", "Requests waiting for a max_procs slot."),
		queueWait:  histogram("queue_wait_seconds", "Time requests waited for a max_procs slot, when none was free at once.", prometheus.DefBuckets),
		duration:   histogram("run_duration_seconds", "Run time of CGI scripts, from spawn to reap.", runBuckets),
		rejections: counter("rejections_total", "Requests refused before their script started, by reason: queue (503), body (413), spool.", "reason"),
		timeouts:   counter("timeouts_total", "CGI scripts stopped because they ran past timeout."),
		kills:      counter("kills_total", "CGI scripts that ignored SIGTERM and got SIGKILL after kill_grace."),
		exits:      counter("exits_total", "CGI scripts ended, by outcome: ok, exit_code (non-zero), signal, exec_failure.", "outcome"),
		bytesIn:    counter("request_bytes_total", "Request body bytes delivered to CGI scripts."),
		bytesOut:   counter("response_bytes_total", "Response body bytes CGI scripts sent to clients."),
	}
}

// runBuckets spans a hello-world script (a few ms) to long polls and git
// clones (minutes).
var runBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

func (m *cgiMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.started, m.running, m.waiting, m.queueWait, m.duration,
		m.rejections, m.timeouts, m.kills, m.exits, m.bytesIn, m.bytesOut}
}

// serverMetrics are the collectors of one server and handler.
type serverMetrics struct {
	started, timeouts, kills, bytesIn, bytesOut prometheus.Counter
	running, waiting                            prometheus.Gauge
	queueWait, duration                         prometheus.Observer
	rejections, exits                           *prometheus.CounterVec
}

// forRequest returns the collectors for r's server.
func (m *cgiMetrics) forRequest(r *http.Request) *serverMetrics {
	server := "UNKNOWN" // Caddy's own label for a request outside a server
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok && srv != nil && srv.Name() != "" {
		server = srv.Name()
	}
	if sm, ok := m.byServer.Load(server); ok {
		return sm.(*serverMetrics)
	}
	l := prometheus.Labels{"server": server, "handler": "pyhttp_cgi"}
	sm := &serverMetrics{
		started:    m.started.With(l),
		timeouts:   m.timeouts.With(l),
		kills:      m.kills.With(l),
		bytesIn:    m.bytesIn.With(l),
		bytesOut:   m.bytesOut.With(l),
		running:    m.running.With(l),
		waiting:    m.waiting.With(l),
		queueWait:  m.queueWait.With(l),
		duration:   m.duration.With(l),
		rejections: m.rejections.MustCurryWith(l),
		exits:      m.exits.MustCurryWith(l),
	}
	actual, _ := m.byServer.LoadOrStore(server, sm)
	return actual.(*serverMetrics)
}

// cgiObserver is the cgihost.Observer of one handler: it counts into the
// metrics and publishes the {http.pyhttp.cgi.*} placeholders.
type cgiObserver struct {
	m *cgiMetrics
}

func (o cgiObserver) Queued(r *http.Request) { o.m.forRequest(r).waiting.Inc() }

func (o cgiObserver) Dequeued(r *http.Request, wait time.Duration) {
	sm := o.m.forRequest(r)
	sm.waiting.Dec()
	sm.queueWait.Observe(wait.Seconds())
}

func (o cgiObserver) Refused(r *http.Request, why cgihost.Refusal) {
	o.m.forRequest(r).rejections.WithLabelValues(string(why)).Inc()
}

func (o cgiObserver) Started(r *http.Request, pid int) {
	sm := o.m.forRequest(r)
	sm.started.Inc()
	sm.running.Inc()
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set(placeholderPID, strconv.Itoa(pid))
	}
}

func (o cgiObserver) Finished(r *http.Request, e *cgihost.Exit) {
	sm := o.m.forRequest(r)
	sm.exits.WithLabelValues(string(e.Outcome)).Inc()
	if e.Outcome == cgihost.OutcomeExecFailure {
		return // never started: not running, no duration
	}
	sm.running.Dec()
	sm.duration.Observe(e.Duration.Seconds())
	sm.bytesIn.Add(float64(e.BytesIn))
	sm.bytesOut.Add(float64(e.BytesOut))
	if e.TimedOut {
		sm.timeouts.Inc()
	}
	if e.Killed {
		sm.kills.Inc()
	}
	// A detached script is reaped after its response (and its access log
	// line) is done; the replacer belongs to no one by then.
	if e.Detached {
		return
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		if e.Code >= 0 {
			repl.Set(placeholderExitCode, strconv.Itoa(e.Code))
		}
		repl.Set(placeholderDurationMS, strconv.FormatInt(e.Duration.Milliseconds(), 10))
	}
}

// Placeholders published by pyhttp_cgi for access logs (log_append) and
// handle_errors.
const (
	placeholderScript     = "http.pyhttp.cgi.script"
	placeholderPID        = "http.pyhttp.cgi.pid"
	placeholderExitCode   = "http.pyhttp.cgi.exit_code"
	placeholderDurationMS = "http.pyhttp.cgi.duration_ms"
)

// Interface guards
var _ cgihost.Observer = cgiObserver{}

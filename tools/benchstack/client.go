package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exo-os/exo/internal/httpdemo"
)

// The client: one measurement of one target, run inside the namespace
// (every socket is the namespace's), its result printed as one JSON
// Sample.

// Job is what one client run measures.
type Job struct {
	Measure  string // download, upload, http1, http100, udp, mem
	Target   string // the stack, as httpd's front page names it (or the UDP target)
	Addr     string // host:port
	Size     int64  // download and upload bytes
	Requests int    // http1: sequential requests; http100: per connection
	Conns    int    // http100 and mem: connections
	Probes   int    // udp
	Interval time.Duration
	Linger   time.Duration // udp: how long echoes are awaited after the last probe (default 2 s)
}

// measures are the client's measurements, in the order a round runs
// them.
var measures = []string{"download", "upload", "http1", "http100", "udp", "mem"}

// run performs j within ctx.
func (j Job) run(ctx context.Context) (map[string]float64, string, error) {
	switch j.Measure {
	case "download":
		v, err := j.download(ctx)
		return v, "", err
	case "upload":
		v, err := j.upload(ctx)
		return v, "", err
	case "http1":
		v, err := j.httpSequential(ctx)
		return v, "", err
	case "http100":
		v, err := j.httpParallel(ctx)
		return v, "", err
	case "udp":
		v, err := j.udpEcho(ctx)
		return v, "", err
	case "mem":
		return j.memory(ctx)
	}
	return nil, "", fmt.Errorf("unknown measurement %q", j.Measure)
}

func (j Job) url(path string) string { return "http://" + j.Addr + path }

// client is an HTTP client on its own transport, without compression.
func client(maxConns int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DisableCompression:  true,
			MaxIdleConnsPerHost: maxConns,
			MaxConnsPerHost:     maxConns,
			MaxIdleConns:        maxConns,
		},
		Timeout: 2 * time.Minute,
	}
}

// get fetches url with c and returns the body; an answer other than 200
// is an error.
func get(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return b, fmt.Errorf("GET %s: body: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}

// page fetches / and checks that it is the target's front page.
func (j Job) page(ctx context.Context, c *http.Client) error {
	b, err := get(ctx, c, j.url("/"))
	if err != nil {
		return err
	}
	if want := fmt.Sprintf("Exo httpd (%s stack)", j.Target); !bytes.Contains(b, []byte(want)) {
		return fmt.Errorf("GET /: the page does not say %q (%d bytes)", want, len(b))
	}
	return nil
}

// download times GET /download?size=Size on a warm connection and checks
// the bytes: their number, and their SHA-256 (computed while reading)
// against X-Content-SHA256 and the pattern's.
func (j Job) download(ctx context.Context) (map[string]float64, error) {
	c := client(1)
	defer c.CloseIdleConnections()
	if err := j.page(ctx, c); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	want := httpdemo.PatternSum(j.Size)
	url := j.url("/download?size=" + strconv.FormatInt(j.Size, 10))
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	el := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("GET %s: after %d bytes: %w", url, n, err)
	}
	if n != j.Size || resp.ContentLength != j.Size {
		return nil, fmt.Errorf("GET %s: %d bytes (Content-Length %d), want %d", url, n, resp.ContentLength, j.Size)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if hdr := resp.Header.Get("X-Content-SHA256"); hdr != got {
		return nil, fmt.Errorf("GET %s: SHA-256 of the bytes %s, X-Content-SHA256 %q", url, got, hdr)
	}
	if got != hex.EncodeToString(want[:]) {
		return nil, fmt.Errorf("GET %s: SHA-256 %s, not the pattern's %x", url, got, want)
	}
	return map[string]float64{"mbps": float64(n) / el.Seconds() / 1e6, "bytes": float64(n), "seconds": el.Seconds()}, nil
}

// upload times POST /upload of Size pseudo-random bytes on a warm
// connection and checks the answer's length and SHA-256.
func (j Job) upload(ctx context.Context) (map[string]float64, error) {
	body := make([]byte, j.Size)
	rng := rand.New(rand.NewPCG(uint64(j.Size), 0xb5))
	for i := 0; i+8 <= len(body); i += 8 {
		binary.LittleEndian.PutUint64(body[i:], rng.Uint64())
	}
	sum := sha256.Sum256(body)
	want := fmt.Sprintf("%d %x\n", len(body), sum)
	c := client(1)
	defer c.CloseIdleConnections()
	if err := j.page(ctx, c); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", j.url("/upload"), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	el := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("POST /upload: the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK || string(got) != want {
		return nil, fmt.Errorf("POST /upload: %s %q, want %q", resp.Status, got, want)
	}
	return map[string]float64{"mbps": float64(len(body)) / el.Seconds() / 1e6, "bytes": float64(len(body)), "seconds": el.Seconds()}, nil
}

// httpSequential makes Requests GET / one after another on one
// keep-alive connection (after one warm-up request).
func (j Job) httpSequential(ctx context.Context) (map[string]float64, error) {
	c := client(1)
	defer c.CloseIdleConnections()
	if err := j.page(ctx, c); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	lat := make([]time.Duration, 0, j.Requests)
	start := time.Now()
	for i := 0; i < j.Requests; i++ {
		t := time.Now()
		if err := j.page(ctx, c); err != nil {
			return nil, fmt.Errorf("request %d: %w", i+1, err)
		}
		lat = append(lat, time.Since(t))
	}
	v := latencies(lat)
	v["rps"] = float64(j.Requests) / time.Since(start).Seconds()
	v["requests"] = float64(j.Requests)
	return v, nil
}

// httpParallel runs Conns goroutines, each making Requests GET / on its
// keep-alive connection (the transport allows Conns connections).
func (j Job) httpParallel(ctx context.Context) (map[string]float64, error) {
	c := client(j.Conns)
	defer c.CloseIdleConnections()
	lat := make([][]time.Duration, j.Conns)
	errs := make([]error, j.Conns)
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < j.Conns; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < j.Requests; i++ {
				t := time.Now()
				if err := j.page(ctx, c); err != nil {
					errs[g] = fmt.Errorf("connection %d, request %d: %w", g+1, i+1, err)
					return
				}
				lat[g] = append(lat[g], time.Since(t))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for g := range lat {
		all = append(all, lat[g]...)
	}
	if err := firstErr(errs); err != nil {
		return nil, fmt.Errorf("%d of %d requests done: %w", len(all), j.Conns*j.Requests, err)
	}
	v := latencies(all)
	v["rps"] = float64(len(all)) / el.Seconds()
	v["requests"] = float64(len(all))
	return v, nil
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// udpEcho sends Probes datagrams of 64 bytes, one every Interval on a
// fixed schedule, each carrying its number; a receiver matches the
// echoes. A probe without its echo Linger after the last was sent is lost;
// an echo that differs from its probe fails the measurement.
func (j Job) udpEcho(ctx context.Context) (map[string]float64, error) {
	raddr, err := net.ResolveUDPAddr("udp", j.Addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	const size = 64
	probe := func(b []byte, seq int) {
		copy(b, "exo-benchstack")
		binary.BigEndian.PutUint64(b[16:], uint64(seq))
		for i := 24; i < size; i++ {
			b[i] = byte(seq + i)
		}
	}
	sent := make([]time.Time, j.Probes)
	rtt := make([]time.Duration, j.Probes)
	var mu sync.Mutex // sent[] and rtt[]
	recvErr := make(chan error, 1)
	go func() {
		buf, want := make([]byte, 2048), make([]byte, size)
		got := 0
		for got < j.Probes {
			n, err := conn.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || isTimeout(err) {
					recvErr <- nil
				} else {
					recvErr <- err
				}
				return
			}
			if n != size {
				recvErr <- fmt.Errorf("an echo of %d bytes, want %d", n, size)
				return
			}
			seq := int(binary.BigEndian.Uint64(buf[16:]))
			at := time.Now()
			if seq < 0 || seq >= j.Probes {
				recvErr <- fmt.Errorf("an echo of probe %d, of %d sent", seq, j.Probes)
				return
			}
			probe(want, seq)
			if !bytes.Equal(buf[:n], want) {
				recvErr <- fmt.Errorf("the echo of probe %d differs from the probe: % x", seq, buf[:n])
				return
			}
			mu.Lock()
			if rtt[seq] == 0 && !sent[seq].IsZero() {
				rtt[seq] = max(at.Sub(sent[seq]), 1)
				got++
			}
			mu.Unlock()
		}
		recvErr <- nil
	}()
	b := make([]byte, size)
	start := time.Now()
	for i := 0; i < j.Probes; i++ {
		if d := time.Until(start.Add(time.Duration(i) * j.Interval)); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		probe(b, i)
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		if _, err := conn.Write(b); err != nil {
			return nil, fmt.Errorf("probe %d: %w", i, err)
		}
	}
	linger := j.Linger
	if linger <= 0 {
		linger = 2 * time.Second
	}
	conn.SetReadDeadline(time.Now().Add(linger))
	if err := <-recvErr; err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	var ok []time.Duration
	for _, d := range rtt {
		if d > 0 {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		return nil, fmt.Errorf("no echo of %d probes", j.Probes)
	}
	v := latencies(ok)
	v["sent"], v["received"] = float64(j.Probes), float64(len(ok))
	v["loss_pct"] = 100 * float64(j.Probes-len(ok)) / float64(j.Probes)
	return v, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// memSteps is how many steps memory opens its connections in, and how
// many idle /stats readings it takes first.
const memSteps = 5

// memory measures the heap in use per idle keep-alive connection from
// /stats's "runtime heapinuse" (runtime.MemStats without a forced
// collection: it includes garbage, and falls when a collection runs).
// It reads /stats memSteps+1 times with nothing changing, then opens Conns
// connections (each makes one GET / and stays idle) in memSteps equal
// steps, reading /stats after each: per_conn is memoryPerConn's
// estimate. before and after are the last idle and the last reading;
// delta_per_conn their difference over Conns (the brief's plain figure). If /stats has no such
// line, the note says so and the figures are missing.
func (j Job) memory(ctx context.Context) (map[string]float64, string, error) {
	const key = "runtime heapinuse"
	v := map[string]float64{"conns": float64(j.Conns)}
	var readings []float64
	read := func(what string) (bool, error) {
		st, err := j.stats(ctx)
		if err != nil {
			return false, fmt.Errorf("/stats %s: %w", what, err)
		}
		h, ok := st[key]
		readings = append(readings, h)
		return ok, nil
	}
	for i := 0; i <= memSteps; i++ {
		ok, err := read("before the connections")
		if err != nil {
			return nil, "", err
		}
		if !ok {
			return v, `no "runtime heapinuse" line in /stats: memory per connection n/a`, nil
		}
	}
	var d net.Dialer
	conns := make([]net.Conn, 0, j.Conns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	req := "GET / HTTP/1.1\r\nHost: " + j.Addr + "\r\nUser-Agent: benchstack\r\n\r\n"
	step := max(j.Conns/memSteps, 1)
	var opened []int // connections open at each reading after the idle ones
	for len(conns) < j.Conns {
		for k := 0; k < step && len(conns) < j.Conns; k++ {
			i := len(conns) + 1
			c, err := d.DialContext(ctx, "tcp", j.Addr)
			if err != nil {
				return nil, "", fmt.Errorf("connection %d: %w", i, err)
			}
			conns = append(conns, c)
			c.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err := io.WriteString(c, req); err != nil {
				return nil, "", fmt.Errorf("connection %d: %w", i, err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return nil, "", fmt.Errorf("connection %d: GET /: %w", i, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || resp.Close {
				return nil, "", fmt.Errorf("connection %d: GET /: %s, %d bytes, close %v, %v", i, resp.Status, len(body), resp.Close, err)
			}
			c.SetDeadline(time.Time{})
		}
		if _, err := read(fmt.Sprintf("with %d idle connections", len(conns))); err != nil {
			return nil, "", err
		}
		opened = append(opened, len(conns))
	}
	v["per_conn"], v["idle_growth"] = memoryPerConn(readings, memSteps+1, opened)
	v["before"], v["after"] = readings[memSteps], readings[len(readings)-1]
	v["delta_per_conn"] = (v["after"] - v["before"]) / float64(j.Conns)
	return v, "", nil
}

// memoryPerConn estimates the heap per connection from readings: the
// first nIdle taken with nothing changing, then one after each step
// (opened[i] connections open at reading nIdle+i). idle is the median
// growth between the idle readings (what one reading leaves behind);
// perConn the median over the steps of the step's growth less idle, over
// the connections it opened. The medians discard the steps a collection
// fell in, as long as they are fewer than half.
func memoryPerConn(readings []float64, nIdle int, opened []int) (perConn, idle float64) {
	if nIdle < 1 || len(readings) < nIdle+len(opened) {
		return 0, 0
	}
	var growth []float64
	for i := 1; i < nIdle; i++ {
		growth = append(growth, readings[i]-readings[i-1])
	}
	idle = median(growth)
	var steps []float64
	prevN, prev := 0, readings[nIdle-1]
	for i, n := range opened {
		h := readings[nIdle+i]
		if n > prevN {
			steps = append(steps, (h-prev-idle)/float64(n-prevN))
		}
		prevN, prev = n, h
	}
	return median(steps), idle
}

// stats fetches /stats on a connection of its own.
func (j Job) stats(ctx context.Context) (map[string]float64, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}, Timeout: 30 * time.Second}
	b, err := get(ctx, c, j.url("/stats"))
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(string(b), "error ") {
		return nil, fmt.Errorf("/stats: %s", strings.TrimSpace(string(b)))
	}
	return parseStats(string(b)), nil
}

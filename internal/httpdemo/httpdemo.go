// Package httpdemo is the site firmware/envs/httpd serves, in plain Go so
// that it is tested on the host (httptest) and served in an environment
// unchanged:
//
//	GET  /                 a page naming the stack, with the routes below
//	GET  /download?size=N  N bytes (default 1 MiB, at most MaxDownload) of
//	                       Pattern, with its SHA-256 in X-Content-SHA256
//	POST /upload           the body's length and SHA-256, as
//	                       "<bytes> <hex sha256>\n"
//	GET  /stats            the stack's counters, as text
//	GET  /fetch?url=U      the server as a client: GET U (http only) and
//	                       answer "<status> <bytes> <hex sha256>\n" of its body
//	GET  /lookup?host=H    the addresses the resolver finds for H, a line each
//
// The download's bytes are a fixed pseudo-random stream (Pattern), so a
// client checks a transfer byte for byte without storing a copy.
package httpdemo

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DefaultDownload is the size of /download without ?size=.
const DefaultDownload = 1 << 20

// MaxDownload bounds ?size= (64 MiB).
const MaxDownload = 64 << 20

// MaxUpload bounds a POST to /upload (64 MiB); a longer body is refused
// with 413 after MaxUpload bytes.
const MaxUpload = 64 << 20

// Pattern writes the stream's bytes from offset off into b: block k (32
// bytes) of the stream is SHA-256 of "exo-httpdemo" and k, 8 bytes big
// endian. Cheap, reproducible and without long runs a lossy link could
// hide in.
func Pattern(b []byte, off int64) {
	var in [20]byte
	copy(in[:], "exo-httpdemo")
	for len(b) > 0 {
		k := off / sha256.Size
		binary.BigEndian.PutUint64(in[12:], uint64(k))
		blk := sha256.Sum256(in[:])
		n := copy(b, blk[off%sha256.Size:])
		b, off = b[n:], off+int64(n)
	}
}

// PatternSum returns the SHA-256 of the stream's first n bytes.
func PatternSum(n int64) [sha256.Size]byte {
	h := sha256.New()
	buf := make([]byte, 32<<10)
	for off := int64(0); off < n; {
		c := min(int64(len(buf)), n-off)
		Pattern(buf[:c], off)
		h.Write(buf[:c])
		off += c
	}
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// Handler returns the site; name names the stack on the front page and
// stats returns the /stats text.
func Handler(name string, stats func() string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html>\n<title>Exo httpd</title>\n<h1>Exo httpd (%s stack)</h1>\n<ul>\n"+
			"<li><a href=\"/download\">/download</a> 1 MiB (?size=N up to %d)\n"+
			"<li>POST /upload: its length and SHA-256\n"+
			"<li><a href=\"/stats\">/stats</a> the stack's counters\n</ul>\n",
			html.EscapeString(name), MaxDownload)
	})
	mux.HandleFunc("GET /download", download)
	mux.HandleFunc("POST /upload", upload)
	mux.HandleFunc("GET /fetch", fetch)
	mux.HandleFunc("GET /lookup", lookup)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, stats())
	})
	return mux
}

func download(w http.ResponseWriter, r *http.Request) {
	n := int64(DefaultDownload)
	if s := r.URL.Query().Get("size"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 || v > MaxDownload {
			http.Error(w, fmt.Sprintf("httpdemo: size %q: want 0..%d bytes", s, MaxDownload), http.StatusBadRequest)
			return
		}
		n = v
	}
	sum := PatternSum(n)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.Header().Set("X-Content-SHA256", hex.EncodeToString(sum[:]))
	buf := make([]byte, 16<<10)
	for off := int64(0); off < n; {
		c := min(int64(len(buf)), n-off)
		Pattern(buf[:c], off)
		if _, err := w.Write(buf[:c]); err != nil {
			return // the client went away
		}
		off += c
	}
}

// client is /fetch's: bounded in time, no redirects followed.
var client = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func fetch(w http.ResponseWriter, r *http.Request) {
	u, err := url.Parse(r.URL.Query().Get("url"))
	if err != nil || u.Scheme != "http" || u.Host == "" {
		http.Error(w, fmt.Sprintf("httpdemo: fetch: want ?url=http://HOST[:PORT]/PATH, got %q", r.URL.Query().Get("url")), http.StatusBadRequest)
		return
	}
	resp, err := client.Get(u.String())
	if err != nil {
		http.Error(w, fmt.Sprintf("httpdemo: fetch %s: %v", u, err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, MaxDownload+1))
	switch {
	case err != nil:
		http.Error(w, fmt.Sprintf("httpdemo: fetch %s: after %d bytes: %v", u, n, err), http.StatusBadGateway)
		return
	case n > MaxDownload:
		http.Error(w, fmt.Sprintf("httpdemo: fetch %s: body longer than %d bytes", u, MaxDownload), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%d %d %s\n", resp.StatusCode, n, hex.EncodeToString(h.Sum(nil)))
}

func lookup(w http.ResponseWriter, r *http.Request) {
	host := r.URL.Query().Get("host")
	if host == "" {
		http.Error(w, "httpdemo: lookup: want ?host=NAME", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		http.Error(w, fmt.Sprintf("httpdemo: lookup %s: %v", host, err), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, a := range addrs {
		fmt.Fprintln(w, a)
	}
}

func upload(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, http.MaxBytesReader(w, r.Body, MaxUpload))
	if err != nil {
		status := http.StatusBadRequest
		if _, ok := err.(*http.MaxBytesError); ok {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, fmt.Sprintf("httpdemo: upload after %d bytes: %v", n, err), status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%d %s\n", n, hex.EncodeToString(h.Sum(nil)))
}

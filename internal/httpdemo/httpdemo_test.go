package httpdemo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPatternOffsets(t *testing.T) {
	whole := make([]byte, 1000)
	Pattern(whole, 0)
	for _, off := range []int64{0, 1, 31, 32, 33, 500, 999} {
		part := make([]byte, 1000-off)
		Pattern(part, off)
		if !bytes.Equal(part, whole[off:]) {
			t.Fatalf("Pattern from %d differs from the whole stream's bytes", off)
		}
	}
	if bytes.Equal(whole[:32], whole[32:64]) {
		t.Fatal("consecutive blocks are equal")
	}
	if got, want := PatternSum(1000), sha256.Sum256(whole); got != want {
		t.Fatalf("PatternSum(1000) = %x, want %x", got, want)
	}
}

func TestSite(t *testing.T) {
	srv := httptest.NewServer(Handler("test", func() string { return "tcp segsin 5\n" }))
	defer srv.Close()
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		return r, b
	}
	r, b := get("/")
	if r.StatusCode != 200 || !strings.Contains(string(b), "test stack") {
		t.Fatalf("front page: %d %q", r.StatusCode, b)
	}
	for _, tc := range []struct {
		query string
		size  int64
	}{{"", DefaultDownload}, {"?size=0", 0}, {"?size=12345", 12345}} {
		r, b = get("/download" + tc.query)
		want := make([]byte, tc.size)
		Pattern(want, 0)
		sum := sha256.Sum256(want)
		if r.StatusCode != 200 || !bytes.Equal(b, want) || r.Header.Get("X-Content-SHA256") != hex.EncodeToString(sum[:]) {
			t.Fatalf("download%s: status %d, %d bytes, sum header %s", tc.query, r.StatusCode, len(b), r.Header.Get("X-Content-SHA256"))
		}
	}
	for _, q := range []string{"?size=-1", "?size=x", fmt.Sprintf("?size=%d", MaxDownload+1)} {
		if r, _ = get("/download" + q); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("download%s: status %d, want 400", q, r.StatusCode)
		}
	}
	body := make([]byte, 300000)
	Pattern(body, 7)
	r2, err := http.Post(srv.URL+"/upload", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r2.Body)
	r2.Body.Close()
	sum := sha256.Sum256(body)
	if want := fmt.Sprintf("%d %x\n", len(body), sum); string(b) != want {
		t.Fatalf("upload answered %q, want %q", b, want)
	}
	if r, b = get("/stats"); string(b) != "tcp segsin 5\n" {
		t.Fatalf("stats: %q", b)
	}
	// The server as a client of another.
	blob := make([]byte, 70000)
	Pattern(blob, 99)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(blob) }))
	defer other.Close()
	r, b = get("/fetch?url=" + other.URL + "/x")
	if want := fmt.Sprintf("200 %d %x\n", len(blob), sha256.Sum256(blob)); r.StatusCode != 200 || string(b) != want {
		t.Fatalf("fetch: %d %q, want %q", r.StatusCode, b, want)
	}
	for _, q := range []string{"", "?url=ftp://x/", "?url=http://127.0.0.1:1/"} {
		if r, _ = get("/fetch" + q); r.StatusCode/100 != 4 && r.StatusCode/100 != 5 {
			t.Fatalf("fetch%s: status %d, want an error", q, r.StatusCode)
		}
	}
	if r, b = get("/lookup?host=localhost"); r.StatusCode != 200 || !strings.Contains(string(b), "127.0.0.1") {
		t.Fatalf("lookup localhost: %d %q", r.StatusCode, b)
	}
	if r, _ = get("/lookup"); r.StatusCode != 400 {
		t.Fatalf("lookup without a host: %d", r.StatusCode)
	}
	if r, _ = get("/nothing"); r.StatusCode != 404 {
		t.Fatalf("unknown path: %d", r.StatusCode)
	}
}

package libos

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLineBuffer(t *testing.T) {
	var calls []string
	l := &lineBuffer{flush: func(p []byte) { calls = append(calls, string(p)) }}
	for _, c := range []byte("ab\ncd") {
		l.put(c)
	}
	require.Equal(t, []string{"ab\n"}, calls, "a line goes out whole when it ends")
	l.Flush()
	require.Equal(t, []string{"ab\n", "cd"}, calls)
	l.Flush()
	require.Len(t, calls, 2, "nothing buffered, nothing sent")

	long := strings.Repeat("x", 1100) + "\n"
	calls = nil
	for _, c := range []byte(long) {
		l.put(c)
	}
	require.Equal(t, long, strings.Join(calls, ""), "a long line is sent in pieces, not cut")
	require.Len(t, calls, 3)
}

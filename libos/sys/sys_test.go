package sys

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/abi"
)

func TestErrno(t *testing.T) {
	require.NoError(t, errno(abi.OK))
	require.True(t, errors.Is(errno(abi.ErrFault), ErrFault))
	require.EqualError(t, errno(abi.ErrTooBig), "exo: E2BIG (3)")
	require.EqualError(t, errno(77), "exo: E? (77)")
}

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

func TestBindErr(t *testing.T) {
	require.NoError(t, bindErr(5, abi.OK))
	err := bindErr(0x84321, abi.ErrCapRevoked)
	require.ErrorIs(t, err, ErrCapRevoked)
	var r *RevokedError
	require.ErrorAs(t, err, &r)
	require.Equal(t, uint64(0x84321), r.Name)
	require.EqualError(t, err, "exo: ECAPREVOKED (13): name 0x84321 was revoked")
	require.ErrorIs(t, bindErr(0, abi.ErrCapForged), ErrCapForged)
	require.NotErrorIs(t, bindErr(0, abi.ErrCapForged), ErrCapRevoked)
}

package ipc

import (
	"errors"

	"github.com/exo-os/exo/libos/sys"
)

// predWait blocks on prog over r's window; if the kernel refuses (a ring
// in memory it cannot read as one window), it yields instead, so that the
// pipe still works.
func (r *Ring) predWait(prog []byte) {
	for {
		_, err := sys.PredWait(prog, r.Window(), 0)
		if err == nil {
			return
		}
		if !errors.Is(err, sys.ErrAgain) {
			sys.Yield()
			return
		}
	}
}

// WaitData is a Pipe's Wait for the reading side of r: it blocks in the
// kernel until r holds a byte (DataPredicate).
func (r *Ring) WaitData() { r.predWait(dataPred) }

// WaitRoom is a Pipe's Wait for the writing side of r: it blocks in the
// kernel until r has room for a word (RoomPredicate).
func (r *Ring) WaitRoom() { r.predWait(roomPred) }

package tcp

import "fmt"

func (c *Conn) dump() string {
	avail, fin := c.unsent()
	return fmt.Sprintf("%v una=%d nxt=%d max=%d buf=%d avail=%d fin=%v wnd=%d cwnd=%d ssth=%d rec=%v/%d dup=%d timer=%d@%v rcvNxt=%d rcvAdv=%d rbuf=%d ooo=%d %v ack=%v delack=%v",
		c.state, c.sndUna-c.iss, c.sndNxt-c.iss, c.sndMax-c.iss, c.sndBuf.n, avail, fin, c.sndWnd, c.cwnd, c.ssthresh, c.inRecovery, c.recover-c.iss, c.dupAcks,
		c.timerMode, c.rtoAt, c.rcvNxt-c.irs, c.rcvAdv-c.irs, c.rcvBuf.n, c.nooo, c.ooo[:c.nooo], c.ackNow, c.delackAt)
}

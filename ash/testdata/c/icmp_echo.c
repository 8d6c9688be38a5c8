/* icmp_echo.c: the ICMP echo ASH of ash/echo_test.go (icmpEchoASH), in C.
 * Answers an echo request to an IPv4 address with a 20-byte header by
 * copying the frame into the reply buffer, swapping the Ethernet and IP
 * addresses, setting the ICMP type to 0 and updating the ICMP checksum
 * incrementally (RFC 1624); passes anything else to the environment. */
#include "exo_ash.h"

SEC("ash")
long icmp_echo(struct exo_ctx *ctx)
{
	__u8 *data = exo_ptr(ctx->data);
	__u8 *end = exo_ptr(ctx->data_end);
	__u8 *reply = exo_ptr(ctx->reply);
	unsigned long len = end - data;

	if (len > EXO_REPLY_SIZE || len < 42)
		return EXO_PASS;
	if (data + 42 > end)
		return EXO_PASS;
	if (*(__u16 *)(data + 12) != 0x0008 || data[14] != 0x45 || data[23] != 1 || data[34] != 8)
		return EXO_PASS;
	if (pkt_copy(0, reply, len) != 0)
		return EXO_PASS;

	*(__u32 *)(reply + 0) = *(__u32 *)(data + 6);
	*(__u16 *)(reply + 4) = *(__u16 *)(data + 10);
	*(__u32 *)(reply + 6) = *(__u32 *)(data + 0);
	*(__u16 *)(reply + 10) = *(__u16 *)(data + 4);
	*(__u32 *)(reply + 26) = *(__u32 *)(data + 30);
	*(__u32 *)(reply + 30) = *(__u32 *)(data + 26);
	reply[34] = 0;

	__u16 old = __builtin_bswap16(*(__u16 *)(data + 34));
	__u16 sum = __builtin_bswap16(*(__u16 *)(data + 36));
	sum = csum_update(sum, old, old & 0x00ff);
	*(__u16 *)(reply + 36) = __builtin_bswap16(sum);
	send_reply(len);
	return EXO_CONSUMED;
}

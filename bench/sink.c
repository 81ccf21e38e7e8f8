/* sink.c: an upload sink for bench/peers.sh.
 *
 * A CGI script that reads its standard input to EOF, or to CONTENT_LENGTH
 * bytes if that comes first (RFC 3875 4.2: a script must not read more;
 * python3 -m http.server hands the script the client socket, which gives
 * no EOF while the client waits for the answer), and answers with the
 * number of bytes and a checksum of them, so that the benchmark can tell a
 * complete upload from a short or corrupted one. The checksum is a
 * Fletcher-style pair of 64-bit sums over little-endian 64-bit words (the
 * last word zero-padded): cheap enough (about 1 ms per 10 MiB) not to hide
 * the server's cost, and it changes when bytes are lost, added or
 * reordered. Run outside a server (sink < FILE) it prints the same answer,
 * which is how the benchmark computes the expected one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSIZE (256 * 1024) /* a multiple of 8 */

static unsigned char buf[BUFSIZE];
static long long left = -1; /* bytes CONTENT_LENGTH still allows; -1: no limit */

/* fill reads until buf is full, stdin is at EOF or CONTENT_LENGTH bytes are
 * in; returns the bytes read or -1 on error. Whole buffers keep the words
 * aligned across reads. */
static long fill(void)
{
	long n = 0;
	while (n < BUFSIZE && left != 0) {
		size_t want = BUFSIZE - n;
		if (left > 0 && (long long)want > left)
			want = (size_t)left;
		ssize_t r = read(0, buf + n, want);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += r;
		if (left > 0)
			left -= r;
	}
	return n;
}

int main(void)
{
	uint64_t s1 = 0, s2 = 0, total = 0;
	long n;
	const char *cl = getenv("CONTENT_LENGTH");
	if (cl && *cl)
		left = strtoll(cl, NULL, 10);
	while ((n = fill()) > 0) {
		total += n;
		if (n % 8) /* only the last buffer can be short */
			memset(buf + n, 0, 8 - n % 8);
		for (long i = 0; i < n; i += 8) {
			uint64_t w;
			memcpy(&w, buf + i, 8);
			s1 += w;
			s2 += s1;
		}
		if (n < BUFSIZE)
			break;
	}
	if (n < 0) {
		perror("sink: read");
		return 1;
	}
	printf("Content-Type: text/plain\r\n\r\n%llu %016llx%016llx\n",
	       (unsigned long long)total, (unsigned long long)s1, (unsigned long long)s2);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* echo.c: a full-duplex echo for bench/peers.sh.
 *
 * A CGI script that writes its header at once and then copies its standard
 * input to its standard output as it arrives, 64 KiB at a time, until EOF
 * or CONTENT_LENGTH bytes (see bench/sink.c).
 * The response begins while the request body is still coming in, so a
 * server that writes the whole body to the script before it reads the
 * script's output stalls as soon as both pipes are full (the script blocks
 * on its stdout, the server on the script's stdin).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char buf[64 * 1024];

static int write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(void)
{
	static const char hdr[] = "Content-Type: application/octet-stream\r\n\r\n";
	if (write_all(hdr, sizeof hdr - 1) < 0)
		return 1;
	long long left = -1; /* -1: no CONTENT_LENGTH, read to EOF */
	const char *cl = getenv("CONTENT_LENGTH");
	if (cl && *cl)
		left = strtoll(cl, NULL, 10);
	while (left != 0) {
		size_t want = sizeof buf;
		if (left > 0 && (long long)want > left)
			want = (size_t)left;
		ssize_t r = read(0, buf, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("echo: read");
			return 1;
		}
		if (r == 0)
			return 0;
		if (left > 0)
			left -= r;
		if (write_all(buf, (size_t)r) < 0)
			return 1;
	}
	return 0;
}

/* bigout.c: a CGI script that writes a header and then 100 MiB of body in
 * 1 MiB write(2) calls, to measure how fast a server relays script output
 * and whether it buffers it (its RSS must not grow with the body). Built
 * with -DWITH_CL, it declares the body's Content-Length (bigout-cl). */
#include <string.h>
#include <unistd.h>

enum { BLOCK = 1 << 20, BLOCKS = 100 };

static char buf[BLOCK];

static int writeall(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, p, n);
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(void)
{
#ifdef WITH_CL
	static const char hdr[] = "Content-Type: application/octet-stream\r\nContent-Length: 104857600\r\n\r\n";
#else
	static const char hdr[] = "Content-Type: application/octet-stream\r\n\r\n";
#endif
	memset(buf, 'x', sizeof buf);
	if (writeall(hdr, sizeof hdr - 1) < 0)
		return 1;
	for (int i = 0; i < BLOCKS; i++)
		if (writeall(buf, sizeof buf) < 0)
			return 1;
	return 0;
}

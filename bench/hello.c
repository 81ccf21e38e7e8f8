/* hello.c: the smallest CGI script; its whole output is one write(2). */
#include <unistd.h>

int main(void)
{
	static const char msg[] = "Content-Type: text/plain\r\n\r\nhello\n";
	return write(1, msg, sizeof msg - 1) == sizeof msg - 1 ? 0 : 1;
}

#!/bin/sh
# The smallest well-behaved CGI script (used by BenchmarkServeHello).
printf 'Content-Type: text/plain\r\n\r\nhello\n'

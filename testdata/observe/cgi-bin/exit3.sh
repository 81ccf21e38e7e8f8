#!/bin/sh
# Answers, then exits with status 3.
printf 'Content-Type: text/plain\r\n\r\nx\n'
exit 3

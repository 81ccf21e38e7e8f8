#!/bin/sh
# Answers "hello" and exits 0.
printf 'Content-Type: text/plain\r\n\r\nhello\n'

#!/bin/sh
# Leaves a background job that inherits stdout; the host must neither wait
# for it nor let it survive the request.
sleep 1000 &
printf 'Content-Type: text/plain\r\n\r\n%s\n' "$!"

#!/bin/sh
# Holds its process slot until the file $HOLD_DIR/go exists.
while [ ! -e "$HOLD_DIR/go" ]; do sleep 0.01; done
printf 'Content-Type: text/plain\r\n\r\nok\n'

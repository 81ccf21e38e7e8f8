#!/bin/sh
# Runs past any timeout; SIGTERM ends it.
exec sleep 30

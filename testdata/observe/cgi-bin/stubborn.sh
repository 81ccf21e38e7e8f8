#!/bin/sh
# Ignores SIGTERM (the ignore is inherited by sleep): only SIGKILL ends it.
trap '' TERM
sleep 30

//go:build ignore

// Command caddystd is Caddy with its standard modules and without
// caddy-pyhttp, built from this repository's go.mod, so that it links the
// same versions of everything as ./cmd/caddy: the baseline of the idle RSS
// comparison in bench/peers.sh. The ignore build tag keeps it out of ./... .
//
//	go build -o bench/out/caddy-std bench/caddystd.go
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}

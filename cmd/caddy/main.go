// Command caddy is Caddy with its standard modules plus caddy-pyhttp, so that
// `go run ./cmd/caddy ...` works without xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// plug in Caddy modules here
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/pyhttp/caddy-pyhttp"
)

func main() {
	caddycmd.Main()
}

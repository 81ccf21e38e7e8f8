package pyhttp

import (
	"fmt"
	"reflect"

	"github.com/caddyserver/caddy/v2"
)

// adminEndpoint is where the config being loaded has Caddy's admin API:
// its network address, or disabled.
type adminEndpoint struct {
	disabled bool
	addr     caddy.NetworkAddress
	listen   string // as configured, for messages
}

// unix reports whether only the socket file's permissions decide who may
// reach the admin API (Caddy creates it with mode 0200: its owner only).
func (a adminEndpoint) unix() bool { return a.disabled || a.addr.IsUnixNetwork() }

// adminOf returns the admin endpoint of the config ctx provisions.
//
// The admin API accepts a new config from anyone who can connect to it: a
// TCP endpoint (the default, localhost:2019) is open to every local uid, a
// script running as nobody included, which can then load a config with
// `"user": "root"` and have the next script run as root. caddy.Context keeps
// the config it loads unexported, and neither caddy.ActiveContext (the
// previous config) nor DefaultAdminListen alone says what this config sets,
// so its Admin field is read, read-only, through reflect; Caddy has filled it
// in (with its default) before any app is provisioned.
//
// Fallbacks: a Context without a config (built by hand, as unit tests and
// embedders do) starts no admin endpoint, so the running config's is what
// counts, and with none running there is none. A Context whose field cannot
// be found (a Caddy that renamed it) gets the default endpoint, which fails
// safe: it is TCP unless CADDY_ADMIN says otherwise.
func adminOf(ctx caddy.Context) adminEndpoint {
	cfg, ok := configOf(ctx)
	if !ok {
		return parseAdmin(false, "")
	}
	if cfg.IsNil() {
		active, ok := configOf(caddy.ActiveContext())
		if !ok {
			return parseAdmin(false, "")
		}
		if active.IsNil() {
			return adminEndpoint{disabled: true, listen: "none"}
		}
		cfg = active
	}
	disabled, listen := false, ""
	if admin := cfg.Elem().FieldByName("Admin"); admin.IsValid() && admin.Kind() == reflect.Pointer && !admin.IsNil() {
		if f := admin.Elem().FieldByName("Disabled"); f.IsValid() && f.Kind() == reflect.Bool {
			disabled = f.Bool()
		}
		if f := admin.Elem().FieldByName("Listen"); f.IsValid() && f.Kind() == reflect.String {
			listen = f.String()
		}
	}
	return parseAdmin(disabled, listen)
}

// configOf returns ctx's unexported *caddy.Config, read-only; ok is false
// when Caddy has no such field.
func configOf(ctx caddy.Context) (cfg reflect.Value, ok bool) {
	cfg = reflect.ValueOf(ctx).FieldByName("cfg")
	if !cfg.IsValid() || cfg.Kind() != reflect.Pointer || cfg.Type().Elem() != reflect.TypeFor[caddy.Config]() {
		return reflect.Value{}, false
	}
	return cfg, true
}

// parseAdmin interprets an admin setting as Caddy does: an empty listen
// address is DefaultAdminListen, and {env.*} placeholders are expanded.
func parseAdmin(disabled bool, listen string) adminEndpoint {
	if listen == "" {
		listen = caddy.DefaultAdminListen
	}
	a := adminEndpoint{disabled: disabled, listen: listen}
	if disabled {
		return a
	}
	addr, err := caddy.ParseNetworkAddress(caddy.NewReplacer().ReplaceAll(listen, ""))
	if err != nil {
		// Caddy itself refuses such an address; until then, treat it
		// as reachable.
		addr = caddy.NetworkAddress{Network: "tcp", Host: listen}
	}
	a.addr = addr
	return a
}

// errAdminReachable is the load error when scripts run as another account
// than Caddy's while the admin API is on TCP.
func errAdminReachable(a adminEndpoint, account string) error {
	return fmt.Errorf("scripts run as %s while Caddy's admin endpoint listens on %s, which every local account can reach: "+
		"a script could load a config that runs the next script as root; "+
		"set the global option `admin unix//run/caddy-admin.sock` (Caddy makes the socket mode 0200, its owner only) or `admin off`",
		account, a.listen)
}

// Package cgihost runs CGI/1.1 scripts (RFC 3875) behind an http.Handler.
//
// It is the engine behind pyhttp's CGI handler: the caller decides which
// script answers a request and builds its environment with [BuildEnv]; a
// [Host] then spawns the script, streams the request body to its stdin,
// parses the CGI header block from its stdout with [ReadHeader] and streams
// the rest to the client.
//
// The model is Go's net/http/cgi host.go, hardened where CPython's
// CGIHTTPRequestHandler and the stdlib host are not production-grade:
//
//   - every script runs in its own process group, and the whole group is
//     signalled on client disconnect, timeout and [Host.Close], so no
//     grandchild outlives its request and no zombie is left behind;
//   - the script sees exactly CONTENT_LENGTH bytes on stdin followed by EOF
//     (CPython hands it the raw socket), and bodies without a length are
//     spooled first;
//   - Status and Location are honoured (RFC 3875 section 6.3), malformed
//     header blocks become 502 instead of being passed through verbatim;
//   - the environment is minimal (RFC 3875 section 4.1) instead of a copy of
//     the server's own, the Proxy header never becomes HTTP_PROXY (httpoxy,
//     CVE-2016-5385), and Authorization is withheld unless asked for;
//   - output is streamed and flushed as the script produces it, so
//     server-sent events and long polling work, with memory bounded per
//     request regardless of the size of the output or of stderr.
//
// The package has no Caddy dependency; it logs through go.uber.org/zap.
// [Host] exists on Unix only. Process control is built for Linux (waitid with
// WNOWAIT, F_SETPIPE_SZ); other Unix systems reap the leader before killing
// its group and keep the default pipe size. On Windows only the portable
// parts ([BuildEnv], [Argv], [ReadHeader], [LoggableEnv]) are compiled.
package cgihost

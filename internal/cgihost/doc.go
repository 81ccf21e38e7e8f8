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
//   - every script leads its own session, and its leader and whole group
//     are signalled on client disconnect, timeout and [Host.Close]; where a
//     writable cgroup2 hierarchy exists each script also starts in a cgroup
//     of its own that is killed (cgroup.kill) and emptied before the
//     request ends, so nothing a script starts outlives it, whatever it
//     does with sessions and groups; as PID 1 a reaper collects reparented
//     orphans (contain_linux.go);
//   - the server is undumpable and passes no ambient or inheritable
//     capabilities on, so a script of the server's own user cannot read its
//     /proc files or take its descriptors; [Limits] are applied by a shim
//     (the server's own binary, re-executed) before the script's first
//     instruction (limits_linux.go);
//   - the script sees exactly CONTENT_LENGTH bytes on stdin followed by EOF
//     (CPython hands it the raw socket), and bodies without a length are
//     spooled first, within a byte budget shared by every Host;
//   - Status and Location are honoured (RFC 3875 section 6.3), malformed
//     header blocks become 502 instead of being passed through verbatim;
//   - the environment is minimal (RFC 3875 section 4.1) instead of a copy of
//     the server's own, the Proxy header never becomes HTTP_PROXY (httpoxy,
//     CVE-2016-5385), and Authorization is withheld unless asked for;
//   - output is streamed and flushed as the script produces it, so
//     server-sent events and long polling work, with memory bounded per
//     request regardless of the size of the output or of stderr.
//
// # Lifecycle of one request
//
// The files follow the life of a request:
//
//  1. host.go: [Host.Serve] counts the request in active (what Drain waits
//     for), then run takes a MaxProcs slot (acquire) and only then prepares
//     the body (body.go: streamed when its length is known, else spooled to
//     memory and then an unlinked file, every byte reserved in the
//     process-wide [SpoolBudget] before it is stored), so requests queued
//     for a slot spool nothing and the spool never outgrows the budget.
//     uid.go: credentialFor then picks the account (the Script's own
//     Credential, a uid of its own from [UIDPool], or Credential), held
//     until the script is reaped.
//  2. process.go: start builds the command (through the shim when Limits
//     are set), opens the pipes, creates the script's cgroup and spawns the
//     script directly into it as the leader of a new session, counted in
//     procs (what Close waits for) under the same lock that checks closed,
//     and registered with the PID 1 reaper before it can exit. Four
//     goroutines follow:
//     awaitExit (closes exited when the leader exits, without reaping it),
//     supervise, copyStdin (exactly CONTENT_LENGTH bytes, then EOF) and
//     readStderr (stderr.go).
//  3. response.go: serve reads the header block through the stdoutReader
//     (stdout.go; stdout is a unix socket pair, stdoutPair), then answers
//     with a local redirect, or writes the header and streams the body,
//     flushing whenever the socket runs dry, bounded at the script's
//     Content-Length if it sent a valid one; a body net/http does not chunk
//     is spliced from the socket to the client (bodyCopy.canSplice).
//  4. exit.go: finish waits for the supervisor, reaps the leader (and
//     waits for its cgroup to report "populated 0", then removes it), ends the
//     stdin copy and the stderr reader, closes the pipes; the exit is logged
//     and the outcome decided (an [*Error] before the header, an error
//     wrapping [ErrAborted] after it). run then releases the slot and the
//     body, and Serve the active count.
//
// A script whose output is complete, whose request body was delivered in
// full and whose leader does not exit within exitLinger is detached
// (process.detach, the only place that ends a response before its script):
// Serve returns, and a background goroutine runs finish and the releases.
//
// # Ordering invariants
//
//   - The leader is never reaped before the group's final SIGKILL: its
//     zombie pins the process-group id, so kill(-pgid) cannot hit a group
//     that recycled the number. supervise kills, finish reaps, after
//     supDone.
//   - The final SIGKILL goes to the group and, with cgroup.kill, to the
//     script's cgroup; the cgroup is removed only after the leader's reap,
//     once empty, so every process of the script is dead before Serve (or a
//     detached script's background function) releases the slot.
//   - A leader is registered with the reaper before its start can return
//     and unregistered after its reap, so the reaper never takes an exit
//     status its owner waits for.
//   - supervise is the only goroutine that decides to stop a script; it
//     records the reason (first one wins) before it wakes the stdout reader
//     through a read deadline, and the reader checks the reason before and
//     after every read, so a killed script's output is never passed off as
//     complete.
//   - After the leader exits by itself, output is still read until EOF or
//     for exitLinger of silence, at most twice pipeCapacity more and at
//     most maxLinger of waiting in all, so an escaped process holding the
//     pipe (possible only without a cgroup) cannot pin the request.
//   - The ResponseWriter belongs to net/http once Serve returns. The
//     supervisor sets a write deadline on it only while streaming, under
//     wmu; cutStdin sets a read deadline only while the body copy is still
//     running, which a detached script never has.
//   - When the request's context ends because a detached response
//     completed, the detach wins: the script is not treated as abandoned by
//     its client, though Timeout and Close still stop it.
//   - A spooled byte is reserved in the [SpoolBudget] before it is
//     written, and returned only when the body is closed, after the script
//     is reaped: the budget bounds what is stored, not what was accepted.
//   - Every resource taken in run (slot, body, pool uid, procs count) is released by
//     one deferred function, or handed to the background function of a
//     detached script, even if a wrapping ResponseWriter panics.
//
// The package has no Caddy dependency; it logs through go.uber.org/zap.
// [Host] exists on Unix only. Process control is built for Linux (waitid with
// WNOWAIT, SOCK_CLOEXEC); other Unix systems reap the leader before killing
// its group. On Windows only the portable
// parts ([BuildEnv], [Argv], [ReadHeader], [LoggableEnv]) are compiled.
package cgihost

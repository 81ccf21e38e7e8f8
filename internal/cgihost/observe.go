package cgihost

import (
	"errors"
	"net/http"
	"time"
)

// Observer receives a Host's events, for metrics and per-request
// placeholders; the Host calls it without locks held, so its methods must be
// safe for concurrent use and quick. Every event carries the request, so an
// observer can label by whatever the request's context holds (Caddy's
// server name). cgihost itself knows nothing of Prometheus or Caddy.
//
// For one request the events come in this order: Queued and Dequeued (only
// when MaxProcs is set and no slot was free at once), then either Refused,
// or Started followed by exactly one Finished, or a Finished alone with
// OutcomeExecFailure. Finished runs on the goroutine that called Serve,
// before Serve returns, unless Exit.Detached is set (the script ran on after
// its response was complete, and Finished runs later in the background).
type Observer interface {
	// Queued reports that the request started waiting for a process slot.
	Queued(r *http.Request)
	// Dequeued reports that it stopped waiting after wait, with a slot or
	// not.
	Dequeued(r *http.Request, wait time.Duration)
	// Refused reports a request turned away before its script started.
	Refused(r *http.Request, why Refusal)
	// Started reports a script that was spawned as process pid.
	Started(r *http.Request, pid int)
	// Finished reports a script that was reaped, or that could not be
	// started.
	Finished(r *http.Request, e *Exit)
}

// Refusal says why a request was turned away before its script started.
type Refusal string

const (
	// RefusedQueue: no process slot freed up within QueueTimeout (503).
	RefusedQueue Refusal = "queue"
	// RefusedBody: a request body over MaxRequestBody (413).
	RefusedBody Refusal = "body"
	// RefusedSpool: no room to spool the body (the spool budget).
	RefusedSpool Refusal = "spool"
)

// Outcome classifies how a script ended.
type Outcome string

const (
	// OutcomeOK is an exit with status 0.
	OutcomeOK Outcome = "ok"
	// OutcomeExitCode is an exit with a non-zero status.
	OutcomeExitCode Outcome = "exit_code"
	// OutcomeSignal is death by a signal (the host's or anyone's).
	OutcomeSignal Outcome = "signal"
	// OutcomeExecFailure is a script that could not be started at all.
	OutcomeExecFailure Outcome = "exec_failure"
)

// Exit describes one finished script.
type Exit struct {
	Outcome Outcome
	// PID is the script's process id; 0 for OutcomeExecFailure.
	PID int
	// Code is the exit status (OutcomeOK, OutcomeExitCode), else -1.
	Code int
	// Signal names the fatal signal (OutcomeSignal), e.g. "killed".
	Signal string
	// Duration is the time from spawn to reap.
	Duration time.Duration
	// TimedOut reports a script stopped because it ran past Timeout.
	TimedOut bool
	// Killed reports a script that ignored SIGTERM and got SIGKILL after
	// KillGrace.
	Killed bool
	// BytesIn is the request body bytes delivered to stdin; BytesOut the
	// response body bytes written to the client.
	BytesIn, BytesOut int64
	// Detached reports that Finished runs after Serve returned.
	Detached bool
}

// refusalOf classifies an error from body preparation or slot acquisition;
// ok is false for errors that are no refusal (the client left, a broken
// upload).
func refusalOf(err error) (Refusal, bool) {
	switch {
	case errors.Is(err, ErrQueueTimeout):
		return RefusedQueue, true
	case errors.Is(err, ErrSpoolBudget):
		return RefusedSpool, true
	case errors.Is(err, ErrBodyTooLarge):
		return RefusedBody, true
	}
	if he, ok := errors.AsType[*Error](err); ok && he.Status == http.StatusRequestEntityTooLarge {
		return RefusedBody, true // a MaxBytesError from Caddy's request_body
	}
	return "", false
}

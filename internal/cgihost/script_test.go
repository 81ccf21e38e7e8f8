//go:build linux

package cgihost

// This file is the CGI script side of the tests: TestMain re-runs the test
// binary with CGIHOST_TEST_SCRIPT=<mode> in its environment (the stdlib
// net/http/cgi pattern), so each misbehaviour is exact and needs no
// interpreter.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const scriptModeEnv = "CGIHOST_TEST_SCRIPT"

// runTestScript acts as the CGI script named by mode and returns the exit code.
func runTestScript(mode string) int {
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	defer out.Flush()
	header := func(lines ...string) {
		for _, l := range lines {
			fmt.Fprint(out, l+"\r\n")
		}
		fmt.Fprint(out, "\r\n")
	}
	writePidFile()

	switch mode {
	case "env":
		header("Content-Type: text/plain")
		env := os.Environ()
		slices.Sort(env)
		for _, kv := range env {
			fmt.Fprintln(out, kv)
		}
		cwd, _ := os.Getwd()
		groups, _ := syscall.Getgroups()
		sndbuf, _ := syscall.GetsockoptInt(1, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		fmt.Fprintf(out, "ARGV=%q\nCWD=%s\nUID=%d\nGID=%d\nGROUPS=%v\nSTDOUT_SNDBUF=%d\n",
			os.Args, cwd, os.Getuid(), os.Getgid(), groups, sndbuf)
	case "status":
		header("Status: 404 Not Found", "Content-Type: text/plain", "X-Script: yes")
		fmt.Fprint(out, "missing")
	case "redirect-abs":
		header("Location: https://example.com/elsewhere")
	case "redirect-local":
		header("Location: /other?q=1")
		fmt.Fprint(out, "ignored body")
	case "no-content-type":
		header("X-A: 1")
		fmt.Fprint(out, "<html><body>sniff me</body></html>")
	case "malformed":
		fmt.Fprint(out, "this is not a header\r\n\r\nbody")
	case "silent":
		fmt.Fprintln(os.Stderr, "going down without a word")
		out.Flush()
		return 3
	case "huge-header":
		fmt.Fprint(out, "X-Big: "+strings.Repeat("a", 100<<10)+"\r\n\r\n")
	case "nph":
		fmt.Fprint(out, "HTTP/1.1 201 Created\r\nX-NPH: 1\r\nConnection: close\r\nContent-Length: 99\r\n\r\nnph body")
	case "crash":
		fmt.Fprintln(os.Stderr, "crash warning")
		header("Content-Type: text/plain")
		fmt.Fprint(out, "partial")
		out.Flush()
		return 7
	case "count-stdin":
		// Reads stdin to EOF: it only terminates if the host closes stdin
		// after CONTENT_LENGTH bytes.
		h := sha256.New()
		n, err := io.Copy(h, os.Stdin)
		header("Content-Type: text/plain")
		fmt.Fprintf(out, "CONTENT_LENGTH=%s\nREAD=%d\nSHA=%x\nERR=%v\n", os.Getenv("CONTENT_LENGTH"), n, h.Sum(nil), err)
	case "echo":
		// Writes back while reading, so host and client must stream both ways.
		header("Content-Type: application/octet-stream")
		out.Flush()
		buf := make([]byte, 32<<10)
		for {
			n, err := os.Stdin.Read(buf)
			if n > 0 {
				if _, werr := os.Stdout.Write(buf[:n]); werr != nil {
					return 1
				}
			}
			if err != nil {
				break
			}
		}
	case "big":
		size, _ := strconv.ParseInt(os.Getenv("CGIHOST_TEST_SIZE"), 10, 64)
		header("Content-Type: application/octet-stream")
		out.Flush()
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		for size > 0 {
			n := min(size, int64(len(chunk)))
			if _, err := os.Stdout.Write(chunk[:n]); err != nil {
				return 1
			}
			size -= n
		}
	case "ack-then-read":
		// Answers at once, closes stdout, then reads its whole upload and
		// reports how much it got on stderr.
		header("Status: 202 Accepted", "Content-Type: text/plain")
		fmt.Fprint(out, "queued")
		out.Flush()
		os.Stdout.Close()
		time.Sleep(200 * time.Millisecond) // past the exit linger
		n, _ := io.Copy(io.Discard, os.Stdin)
		fmt.Fprintf(os.Stderr, "read %d\n", n)
	case "killed-mid-body":
		// Dies of SIGKILL halfway through its body, as under the OOM killer.
		header("Content-Type: text/plain")
		fmt.Fprint(out, strings.Repeat("partial ", 1000))
		out.Flush()
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Hour)
	case "redirect-then-hang":
		// Asks for a local redirect, closes stdout, keeps working.
		header("Location: /elsewhere")
		out.Flush()
		os.Stdout.Close()
		time.Sleep(time.Hour)
	case "close-then-hang":
		// Finishes its response, then keeps working past any timeout.
		header("Content-Type: text/plain")
		fmt.Fprint(out, "complete")
		out.Flush()
		os.Stdout.Close()
		time.Sleep(time.Hour)
	case "hang":
		time.Sleep(time.Hour)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
	case "trickle":
		// Streams a line every 10ms forever, with its pid first.
		header("Content-Type: text/plain")
		fmt.Fprintf(out, "pid %d\n", os.Getpid())
		for {
			out.Flush()
			time.Sleep(10 * time.Millisecond)
			if _, err := fmt.Fprintln(out, "tick"); err != nil {
				return 1
			}
		}
	case "grandchild":
		// Leaves a grandchild that holds stdout open, then exits: the host
		// must not wait for it and must kill it.
		cmd := exec.Command("sleep", "1000")
		cmd.Stdout = os.Stdout
		if err := cmd.Start(); err != nil {
			return 1
		}
		header("Content-Type: text/plain")
		fmt.Fprintf(out, "%d\n", cmd.Process.Pid)
	case "stderr-flood":
		// Far more stderr than any log budget, including an endless line.
		w := bufio.NewWriterSize(os.Stderr, 64<<10)
		line := strings.Repeat("e", 100) + "\n"
		for range 200_000 {
			w.WriteString(line)
		}
		w.WriteString(strings.Repeat("x", 1<<20))
		w.Flush()
		header("Content-Type: text/plain")
		fmt.Fprint(out, "flooded")
	case "stderr-then-fail":
		fmt.Fprintln(os.Stderr, "first line")
		fmt.Fprintln(os.Stderr, "second line")
		header("Status: 500 Internal Error", "Content-Type: text/plain")
		fmt.Fprint(out, "failed")
	case "framed":
		// The header lines of CGIHOST_TEST_HEADER ("|" between them),
		// then CGIHOST_TEST_BODY, and CGIHOST_TEST_REPEAT times
		// CGIHOST_TEST_MORE.
		header(strings.Split(os.Getenv("CGIHOST_TEST_HEADER"), "|")...)
		fmt.Fprint(out, os.Getenv("CGIHOST_TEST_BODY"))
		n, _ := strconv.Atoi(os.Getenv("CGIHOST_TEST_REPEAT"))
		fmt.Fprint(out, strings.Repeat(os.Getenv("CGIHOST_TEST_MORE"), n))
	case "sse-cl":
		// "sse" with a Content-Length: the body is not chunked.
		header("Content-Type: text/event-stream", "Content-Length: 27")
		fmt.Fprint(out, "data: first\n\n")
		out.Flush()
		ack := os.Getenv("CGIHOST_TEST_ACK")
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			if _, err := os.Stat(ack); err == nil {
				fmt.Fprint(out, "data: second\n\n")
				return 0
			}
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Fprint(out, "data: timeout\n\n")
	case "sse":
		// Sends one event, then waits for the test to confirm it arrived
		// before finishing; a buffering host would leave it waiting.
		header("Content-Type: text/event-stream")
		fmt.Fprint(out, "data: first\n\n")
		out.Flush()
		ack := os.Getenv("CGIHOST_TEST_ACK")
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(ack); err == nil {
				fmt.Fprint(out, "data: second\n\n")
				return 0
			}
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Fprint(out, "data: timeout\n\n")
	case "wait-file":
		// Holds its slot until the test creates CGIHOST_TEST_ACK.
		ack := os.Getenv("CGIHOST_TEST_ACK")
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(ack); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		header("Content-Type: text/plain")
		fmt.Fprint(out, "released")
	case "snoop":
		// Looks for another request's cookie in every process environment
		// it can read, as a hostile script would.
		want := []byte("HTTP_COOKIE=" + os.Getenv("CGIHOST_TEST_WANT"))
		header("Content-Type: text/plain")
		envs, _ := filepath.Glob("/proc/[0-9]*/environ")
		readable, denied := 0, 0
		for _, f := range envs {
			b, err := os.ReadFile(f)
			if err != nil {
				denied++
				continue
			}
			readable++
			if slices.Contains(strings.Split(string(b), "\x00"), string(want)) {
				fmt.Fprintf(out, "FOUND in %s\n", f)
			}
		}
		fmt.Fprintf(out, "UID=%d readable=%d denied=%d\n", os.Getuid(), readable, denied)
	case "stderr-gib":
		// 1 GiB of stderr, then a normal answer.
		line := []byte(strings.Repeat("e", 1023) + "\n")
		block := bytes.Repeat(line, 256) // 256 KiB
		for range 4096 {
			if _, err := os.Stderr.Write(block); err != nil {
				return 1
			}
		}
		header("Content-Type: text/plain")
		fmt.Fprint(out, "flooded")
	case "orphan":
		// Leaves a background child in the script's group and exits at once.
		cmd := exec.Command("sleep", "1000")
		if err := cmd.Start(); err != nil {
			return 1
		}
		header("Content-Type: text/plain")
		fmt.Fprint(out, "left one behind")
	case "fds":
		header("Content-Type: text/plain")
		entries, _ := os.ReadDir("/proc/self/fd")
		for _, e := range entries {
			target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
			fmt.Fprintf(out, "%s %s\n", e.Name(), target)
		}
	case "slot":
		// Registers itself in a directory while running, to count how many
		// scripts run at once.
		dir := os.Getenv("CGIHOST_TEST_DIR")
		me := filepath.Join(dir, strconv.Itoa(os.Getpid()))
		os.WriteFile(me, nil, 0o644)
		time.Sleep(20 * time.Millisecond)
		entries, _ := os.ReadDir(dir)
		os.Remove(me)
		header("Content-Type: text/plain")
		fmt.Fprintf(out, "%d", len(entries))
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
		return 2
	}
	return 0
}

// writePidFile lets a test find a script that never answers.
func writePidFile() {
	if f := os.Getenv("CGIHOST_TEST_PIDFILE"); f != "" {
		os.WriteFile(f+".tmp", []byte(strconv.Itoa(os.Getpid())), 0o644)
		os.Rename(f+".tmp", f)
	}
}

//go:build ignore

// Command relay measures what relaying 100 MiB of script output costs the
// relaying process, by how it reads the script and writes the client:
// a child writes 100 MiB in 1 MiB writes to its stdout (a unix socket pair
// or a 1 MiB pipe); this process relays it to a loopback TCP connection read
// by another child, and reports its own CPU, the writer's, the receiver's
// and the throughput (median of 15 runs per mode, modes alternated):
//
//	go run bench/relay.go splice copy256/256 copy256/64 pcopy256/256
//
// splice is Go's TCPConn.ReadFrom of an *io.LimitedReader of the
// *net.UnixConn; copyR/W reads R KiB from the socket pair and writes it in
// W KiB pieces (64 is Caddy's default write chunk); pcopyR/W does the same
// from a pipe.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"
)

const total = 100 << 20

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func writer() {
	buf := make([]byte, 1<<20)
	for i := 0; i < total/len(buf); i++ {
		if _, err := os.Stdout.Write(buf); err != nil {
			os.Exit(1)
		}
	}
}

func recv(addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		os.Exit(1)
	}
	buf := make([]byte, 1<<20)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

var kidW, kidR = map[string][]float64{}, map[string][]float64{}

func run(mode string, ln net.Listener) (time.Duration, time.Duration) {
	var src io.Reader
	var childEnd *os.File
	var closer io.Closer
	if mode == "pipecopy" || mode[0] == 'p' {
		r, w, _ := os.Pipe()
		rc, _ := r.SyscallConn()
		rc.Control(func(fd uintptr) { syscall.Syscall(syscall.SYS_FCNTL, fd, 1031 /* F_SETPIPE_SZ */, 1<<20) })
		src, childEnd, closer = r, w, r
	} else {
		fds, _ := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		syscall.SetsockoptInt(fds[1], syscall.SOL_SOCKET, syscall.SO_SNDBUF, 1<<20)
		f := os.NewFile(uintptr(fds[0]), "r")
		c, _ := net.FileConn(f)
		f.Close()
		src, childEnd, closer = c, os.NewFile(uintptr(fds[1]), "w"), c
	}
	rcv := exec.Command(os.Args[0], "recv", ln.Addr().String())
	rcv.Start()
	tc, _ := ln.Accept()
	t0, c0 := time.Now(), cpu()
	wr := exec.Command(os.Args[0], "writer")
	wr.Stdout = childEnd
	wr.Start()
	childEnd.Close()
	switch mode {
	case "splice":
		tc.(*net.TCPConn).ReadFrom(&io.LimitedReader{R: src.(*net.UnixConn), N: total})
	default:
		var rs, ws int
		fmt.Sscanf(mode, "copy%d/%d", &rs, &ws)
		if rs == 0 {
			rs, ws = 256, 256
		}
		buf := make([]byte, rs<<10)
		for {
			n, err := src.Read(buf)
			for p := buf[:n]; len(p) > 0; {
				k := min(len(p), ws<<10)
				tc.Write(p[:k])
				p = p[k:]
			}
			if err != nil {
				break
			}
		}
	}
	d, c := time.Since(t0), cpu()-c0
	tc.Close()
	closer.Close()
	wr.Wait()
	rcv.Wait()
	kidW[mode] = append(kidW[mode], (wr.ProcessState.UserTime()+wr.ProcessState.SystemTime()).Seconds()*1000)
	kidR[mode] = append(kidR[mode], (rcv.ProcessState.UserTime()+rcv.ProcessState.SystemTime()).Seconds()*1000)
	return d, c
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run bench/relay.go mode...")
		os.Exit(2)
	}
	if os.Args[1] == "writer" {
		writer()
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "recv" {
		recv(os.Args[2])
		return
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	modes := os.Args[1:]
	cpus := map[string][]float64{}
	walls := map[string][]float64{}
	for i := 0; i < 15; i++ {
		for _, m := range modes {
			wall, c := run(m, ln)
			cpus[m] = append(cpus[m], c.Seconds()*1000)
			walls[m] = append(walls[m], float64(total)/wall.Seconds()/1e9)
		}
	}
	for _, m := range modes {
		sort.Float64s(cpus[m])
		sort.Float64s(walls[m])
		n := len(cpus[m])
		sort.Float64s(kidW[m])
		sort.Float64s(kidR[m])
		fmt.Printf("%-9s relay CPU ms per 100 MiB: median %.0f (min %.0f, max %.0f); writer %.0f, receiver %.0f; GB/s median %.2f (max %.2f)\n",
			m, cpus[m][n/2], cpus[m][0], cpus[m][n-1], kidW[m][n/2], kidR[m][n/2], walls[m][n/2], walls[m][n-1])
	}
}

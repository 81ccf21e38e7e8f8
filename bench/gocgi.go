//go:build ignore

// Command gocgi serves the executables in DIR/cgi-bin with Go's
// net/http/cgi, one cgi.Handler per script: the Go peer of bench/peers.sh.
// The ignore build tag keeps it out of ./... ; the script builds it by
// naming the file.
//
//	go build -o bench/out/gocgi bench/gocgi.go
//	bench/out/gocgi 127.0.0.1:8080 DIR
package main

import (
	"log"
	"net/http"
	"net/http/cgi"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: gocgi ADDR DIR")
	}
	bin := filepath.Join(os.Args[2], "cgi-bin")
	entries, err := os.ReadDir(bin)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, e := range entries {
		name := "/cgi-bin/" + e.Name()
		mux.Handle(name, &cgi.Handler{Path: filepath.Join(bin, e.Name()), Root: name})
	}
	log.Fatal(http.ListenAndServe(os.Args[1], mux))
}

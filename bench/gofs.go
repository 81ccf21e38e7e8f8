//go:build ignore

// Command gofs serves a directory with net/http.FileServer: the reference
// point the listing and static benchmarks compare against. The ignore build
// tag keeps it out of ./... ; bench/lib.sh builds it by naming the file.
//
//	go build -o bench/out/gofs bench/gofs.go
//	bench/out/gofs 127.0.0.1:8080 DIR
package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: gofs ADDR DIR")
	}
	log.Fatal(http.ListenAndServe(os.Args[1], http.FileServer(http.Dir(os.Args[2]))))
}

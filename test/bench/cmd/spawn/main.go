// Command spawn is make bench's spawner (package test/bench/spawner): it
// starts and measures the processes the benchmark driver asks for, one JSON
// line per request on stdin, one per answer on stdout.
package main

import (
	"fmt"
	"os"

	"github.com/suzlab/routeha/test/bench/spawner"
)

func main() {
	if err := spawner.Serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "spawn: %v\n", err)
		os.Exit(2)
	}
}

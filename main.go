// Command routeha is the OCF resource agent ocf:suzlab:routeha: a virtual
// IP on AWS EC2 that fails over by rewriting VPC route tables.
package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/suzlab/routeha/agent"
	"github.com/suzlab/routeha/internal/platform"
	"github.com/suzlab/routeha/ocf"
)

func main() {
	a := agent.New(version(), platform.New(os.Getenv))
	os.Exit(int(ocf.Run(context.Background(), a.Definition(), os.Args, os.Environ(), os.Stdout, os.Stderr)))
}

// version is the module version the go command stamped into the binary
// (a tag, or a pseudo-version from the commit).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

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
	a := agent.New(version(), platform.New())
	os.Exit(int(ocf.Run(context.Background(), a.Definition(), os.Args, os.Environ(), os.Stdout, os.Stderr)))
}

// stampedVersion is the release version make writes in at link time
// (-ldflags "-X main.stampedVersion=..." from test/packaging/version.sh), so
// that meta-data, the man page and the .deb/.rpm say the same. It is the one
// package-level variable: -X can set nothing else, and only the linker
// writes it.
var stampedVersion string

// version is the version make stamped in, else the module version the go
// command recorded (go install of a tag), else "devel".
func version() string {
	if stampedVersion != "" {
		return stampedVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

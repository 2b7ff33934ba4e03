// Command ec2emu runs the EC2 emulator (test/ec2emu) as a standalone server.
//
//	ec2emu [-listen 127.0.0.1:0] [-state state.json] [-region eu-west-1] [-apply-routes rtb-…]
//
// The first line on stdout is "listening on http://ADDR". SIGTERM or SIGINT
// shut it down cleanly. With -apply-routes, every change of that route table is
// mirrored into the kernel routing table of the network namespace the command
// runs in (use it only inside a namespace made for the purpose).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/suzlab/routeha/test/cmd/internal/serve"
	"github.com/suzlab/routeha/test/ec2emu"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ec2emu:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	statePath := flag.String("state", "", "JSON state file (default: the standard two-node fixture)")
	region := flag.String("region", "", "region (default: from the state, else "+ec2emu.DefaultRegion+")")
	apply := flag.String("apply-routes", "", "mirror this route table into the kernel routes of the current netns")
	flag.Parse()

	st := ec2emu.StandardFixture()
	if *statePath != "" {
		var err error
		if st, err = ec2emu.LoadState(*statePath); err != nil {
			return err
		}
	}
	if *region != "" {
		st.Region = *region
	}
	var opts []ec2emu.Option
	if *apply != "" {
		r, err := ec2emu.NewRouter(*apply)
		if err != nil {
			return err
		}
		defer r.Close()
		if err := r.Apply(st); err != nil {
			log.Printf("apply routes: %v", err)
		}
		opts = append(opts, ec2emu.WithOnChange(func(s *ec2emu.State) {
			if err := r.Apply(s); err != nil {
				log.Printf("apply routes: %v", err)
			}
		}))
	}
	emu := ec2emu.New(st, opts...)

	return serve.UntilSignal(*listen, emu, 5*time.Second)
}

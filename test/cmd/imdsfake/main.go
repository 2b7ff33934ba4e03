// Command imdsfake serves the instance metadata of one simulated node (see
// test/imdsfake).
//
//	imdsfake [-listen 127.0.0.1:0] -instance-id i-… -region eu-west-1 -az eu-west-1a \
//	    -mac 02:… -eni eni-… -vpc vpc-… -subnet subnet-… -ip 10.0.1.10 [-mac … -eni … …]
//	imdsfake -config node.json
//
// -mac, -eni, -vpc, -subnet and -ip may be repeated, once per interface, in
// device order. The first line on stdout is "listening on http://ADDR".
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/suzlab/routeha/test/cmd/internal/serve"
	"github.com/suzlab/routeha/test/imdsfake"
)

type list []string

func (l *list) String() string     { return fmt.Sprint(*l) }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "imdsfake:", err)
		os.Exit(1)
	}
}

func run() error {
	var macs, enis, vpcs, subnets, ips list
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	config := flag.String("config", "", "JSON imdsfake.Config file")
	id := flag.String("instance-id", "i-0aaaaaaaaaaaaaaa1", "instance id")
	region := flag.String("region", "eu-west-1", "region")
	az := flag.String("az", "eu-west-1a", "availability zone")
	account := flag.String("account", "123456789012", "account id")
	flag.Var(&macs, "mac", "interface MAC (repeatable)")
	flag.Var(&enis, "eni", "interface ENI id (repeatable)")
	flag.Var(&vpcs, "vpc", "interface VPC id (repeatable)")
	flag.Var(&subnets, "subnet", "interface subnet id (repeatable)")
	flag.Var(&ips, "ip", "interface private IPv4 (repeatable)")
	flag.Parse()

	cfg := imdsfake.Config{InstanceID: *id, Region: *region, AZ: *az, AccountID: *account}
	if *config != "" {
		b, err := os.ReadFile(*config)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("%s: %w", *config, err)
		}
	} else {
		at := func(l list, i int) string {
			if i < len(l) {
				return l[i]
			}
			if len(l) > 0 {
				return l[len(l)-1]
			}
			return ""
		}
		for i := range macs {
			cfg.Interfaces = append(cfg.Interfaces, imdsfake.Interface{
				MAC: macs[i], ENI: at(enis, i), DeviceIndex: i, VPC: at(vpcs, i), Subnet: at(subnets, i), IP: at(ips, i),
			})
		}
	}
	return serve.UntilSignal(*listen, imdsfake.New(cfg), 2*time.Second)
}

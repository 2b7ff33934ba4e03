package agent

import "github.com/suzlab/routeha/ocf"

// What the meta-data and the man page say of routeha beyond its
// parameters (params.go) and actions (Definition, agent.go).

// shortdesc and longdesc describe routeha in the meta-data and the man page.
const (
	shortdesc = "Virtual IP on AWS EC2 that fails over by rewriting VPC route tables"
	longdesc  = "routeha moves a virtual IP between EC2 instances in different Availability Zones " +
		"by pointing a route for it in one or more VPC route tables at the instance that holds it " +
		"(Routing-Based HA). The IP lies outside the VPC's CIDR and lives on this node's loopback " +
		"(lo:0) by default. start points every table at this node and adds the IP; monitor checks " +
		"both the IP and every table with one DescribeRouteTables request; stop removes the IP and " +
		"needs no AWS API. Parameter names follow ocf:heartbeat:aws-vpc-move-ip, so a configuration " +
		"written for it works by changing the agent name."
)

// sections are the man page's sections beyond the parameters: what
// each exit code means here, the IAM actions, and the production warnings
// (doc/pacemaker.md, "Production advice", says more).
func sections() []ocf.Section {
	return []ocf.Section{
		{Title: "Exit codes", Intro: "OCF 1.1 codes; every failure prints ocf-exit-reason: with one sentence on stderr.",
			Items: []ocf.Item{
				{Term: "0", Label: "OCF_SUCCESS", Text: "Done; monitor: the VIP is on the interface and every table routes it here."},
				{Term: "1", Label: "OCF_ERR_GENERIC", Text: "A failure Pacemaker should recover from: the tables disagree, a write failed, the OCF_CHECK_LEVEL=10 monitor found the target ENI attached elsewhere or its source/dest check on."},
				{Term: "2", Label: "OCF_ERR_ARGS", Text: "Bad arguments to routeha status."},
				{Term: "3", Label: "OCF_ERR_UNIMPLEMENTED", Text: "An unknown action."},
				{Term: "4", Label: "OCF_ERR_PERM", Text: "IAM denies a call the action needs (ReplaceRoute; CreateRoute where a route is missing; ModifyNetworkInterfaceAttribute with source_dest_check=disable); the reason names it. Checks that need more than the minimal policy are skipped with a warning instead."},
				{Term: "5", Label: "OCF_ERR_INSTALLED", Text: "This node cannot run the resource: the interface does not exist."},
				{Term: "6", Label: "OCF_ERR_CONFIGURED", Text: "A parameter or the AWS setup is wrong: bad value, unknown table, a table in another VPC, the ip inside the VPC, a missing route with create_route=false, the source/dest check on with source_dest_check=verify, an interface that is no ENI of this instance."},
				{Term: "7", Label: "OCF_NOT_RUNNING", Text: "monitor: the VIP is not on the interface, or it is and no table routes it here."},
				{Term: "190", Label: "OCF_DEGRADED", Text: "monitor: the VIP is here but the tables could not be read (API down, throttled, IAM, credentials); Pacemaker takes no action."},
			}},
		{Title: "IAM", Intro: "The minimal policy is the vendor guides' one: ec2:DescribeRouteTables and ec2:ReplaceRoute (on the route tables). Optional actions:",
			Items: []ocf.Item{
				{Term: "ec2:CreateRoute", Text: "Creates a route that does not exist yet (create_route=true); without it a missing route fails validate-all and start with 4; where the route exists the probe is skipped with a warning."},
				{Term: "ec2:DescribeNetworkInterfaces", Text: "Checks the source/dest check of the target ENI (source_dest_check=verify) and, at OCF_CHECK_LEVEL=10, its attachment; without it the checks are skipped with a warning."},
				{Term: "ec2:ModifyNetworkInterfaceAttribute", Text: "Needed with source_dest_check=disable only."},
				{Term: "ec2:DescribeInstances", Text: "The identity where IMDS is disabled (with region set)."},
				{Term: "sts:AssumeRole", Text: "routing_table_role only."},
				{Term: "fence_aws", Text: "The fence agent needs ec2:DescribeInstances, ec2:StopInstances and ec2:StartInstances; set pcmk_delay_max and pcmk_reboot_action=off on it, as AWS advises."},
			}},
		{Title: "Warnings",
			Items: []ocf.Item{
				{Term: "Manual starts", Text: "ocf-tester, crm_resource --force-start and pcs resource debug-start run the real start: on a live cluster they move the route to the node they run on. Use crm_resource --validate or routeha status, which change nothing."},
				{Term: "A real NIC", Text: "With interface=eth0, cloud-netconfig (SLES: set CLOUD_NETCONFIG_MANAGE='no' in ifcfg-eth0) and nm-cloud-setup (RHEL: disable nm-cloud-setup.timer and nm-cloud-setup.service) remove the VIP; validate-all and status warn when their files say they would."},
				{Term: "Static addresses", Text: "Remove a static ifcfg-lo:0 holding the VIP left from a hand-made setup: the network scripts put it back after stop."},
				{Term: "Deep monitor", Text: "op monitor interval=300s OCF_CHECK_LEVEL=10 also asks EC2 whether the target ENI is attached here with its source/dest check off."},
				{Term: "Timing", Text: "On AWS the guides set corosync token: 30000 and consensus: 36000, op start/stop timeout=180s, monitor interval=60s timeout=60s; set failure-timeout so that a node that failed once becomes eligible again."},
			}},
	}
}

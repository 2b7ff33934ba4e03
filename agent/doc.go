// Package agent is routeha's behaviour: what start, stop, monitor and
// validate-all do, written over three small interfaces (Identity, Routes,
// VIP) so that it can be tested without AWS or root, and so that the real
// adapters in internal/ stay thin.
//
// Where things are:
//
//	agent.go        the declaration (Definition) and the steps the actions share
//	params.go       the parameter table; syntax.go its syntax checks
//	config.go       the table read into the typed Config
//	manpage.go      the prose of the meta-data and the man page
//	ports.go        the interfaces the adapters implement, and their data
//	exitcodes.go    how an error becomes an exit code and a reason
//	start.go stop.go monitor.go monitor_deep.go validate.go status.go
//	                the actions and `routeha status`
//	target.go       the route target: the ENI behind the interface
//	evaluate.go     what the route tables say about the VIP's route
//	checks.go       the configuration checks of validate-all and start
//	observation.go  the last read of the tables, for a probe in an outage
//	netconfig.go    the network tools that could remove the VIP
//	redact.go       secrets kept out of every line the process writes
package agent

// Package cluster starts and stops small Pacemaker/Corosync clusters (one or
// two nodes) on one Linux machine, without systemd, for integration tests and
// demos.
//
// Every node gets its own network namespace (created here, or supplied by the
// caller) and, inside it, its own mount, UTS and PID namespaces: the node's
// hostname is its name, /run and /dev/shm are fresh tmpfs mounts, and the
// node's own directories under Config.Dir are bind-mounted over
// /var/lib/pacemaker, /var/lib/corosync, /var/log/pacemaker and /etc/corosync.
// corosync -f and pacemakerd -f run as children of the namespace's first
// process, so Node.Kill (one SIGKILL of that process, by PID) takes the whole
// node down at once, like a power cut, and leaves no process behind.
//
// Resource agents that are not installed on the host can be made visible at
// /usr/lib/ocf/resource.d/<provider>/<type> inside the node's mount namespace
// only (Config.Agents, an overlay), so nothing under /usr is changed. The same
// trick is available without a cluster through AgentCommand, for tools such as
// crm ra info or pcs resource describe that look agents up there.
//
// Tools reach a node with nsenter (Node.Command, Node.Run): crm, pcs, crm_mon,
// crm_resource, cibadmin, ... run in the node's network, mount, UTS and PID
// namespaces with the node's environment (Config.Env), which is also the
// environment pacemakerd and therefore every resource agent inherit.
//
// The package needs root, util-linux (unshare, nsenter), iproute2, corosync and
// pacemaker. It never touches the host's own interfaces: addresses are only
// added inside namespaces it created, and it only ever signals processes it
// started, by PID.
package cluster

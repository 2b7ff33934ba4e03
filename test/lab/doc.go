// Package lab builds the worlds routeha's tests run the real binary in:
// network namespaces (Netns, and Enter, the one place that switches a thread
// into one), nodes with their IMDS fake (World, Node), the EC2 emulator or
// another backend behind them (Options.Backend: test/moto's proxy), and an
// agent runner that runs the binary as pacemaker-execd does (Runner: a new
// process per action, OCF_RESKEY_* and CRM_meta_* in the environment, exit
// code, stdout, stderr and exit reason kept).
//
// Every constructor returns an error and every resource has a Close, so the
// demo (test/demo) uses the lab without a testing.T; tests use the thin
// wrapper test/lab/labtest, which skips where namespaces cannot be made and
// closes what it built when the test ends. A two-node Pacemaker cluster is
// test/cluster.
package lab

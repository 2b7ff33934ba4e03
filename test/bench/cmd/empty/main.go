// Command empty does nothing. make bench times it beside routeha: the
// start and exit of a static Go process on the benchmark's machine, the
// floor under any Go agent's action there.
package main

func main() {}

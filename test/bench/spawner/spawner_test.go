package spawner

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serve runs the requests through Serve, as the driver's pipe would carry
// them, and returns the answers.
func serve(t *testing.T, reqs ...Request) []Response {
	t.Helper()
	var in, out bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, r := range reqs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := Serve(&in, &out); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	var resps []Response
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r Response
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		resps = append(resps, r)
	}
	if len(resps) != len(reqs) {
		t.Fatalf("%d answers to %d requests", len(resps), len(reqs))
	}
	return resps
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }
	resps := serve(t,
		Request{Argv: []string{"/bin/sh", "-c", `echo "out $GREETING"; echo err >&2; exit 3`}, Env: []string{"GREETING=hello"}, Timeout: 10 * time.Second, Output: out("exit3")},
		Request{Argv: []string{"/bin/sleep", "10"}, Timeout: 100 * time.Millisecond, Output: out("killed")},
		Request{Argv: []string{filepath.Join(dir, "no-such-program")}, Timeout: time.Second, Output: out("missing")},
		Request{Argv: []string{"/bin/sh", "-c", `i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done`}, Timeout: 10 * time.Second, Output: out("busy")},
	)

	exit3, killed, missing, busy := resps[0], resps[1], resps[2], resps[3]
	if !exit3.Ran || exit3.Code != 3 {
		t.Errorf("exit 3: got %+v", exit3)
	}
	if b, err := os.ReadFile(out("exit3")); err != nil || string(b) != "out hello\nerr\n" {
		t.Errorf("output file: %q, %v; want stdout and stderr, with the request's environment", b, err)
	}
	if exit3.MaxRSSKB <= 0 || exit3.Wall <= 0 {
		t.Errorf("exit 3: no measurement: %+v", exit3)
	}

	if !killed.Ran || killed.Code != -1 || !strings.Contains(killed.Err, "killed") {
		t.Errorf("timeout: want killed, code -1; got %+v", killed)
	}
	if killed.Wall > 5*time.Second {
		t.Errorf("timeout: waited %v for a 100 ms limit", killed.Wall)
	}

	if missing.Ran || missing.Code != -1 || missing.Err == "" {
		t.Errorf("missing program: want not run, with the reason; got %+v", missing)
	}

	if !busy.Ran || busy.Code != 0 || busy.CPU <= 0 {
		t.Errorf("busy loop: want exit 0 and CPU time; got %+v", busy)
	}
}

func TestServeRefusesBadRequest(t *testing.T) {
	var out bytes.Buffer
	if err := Serve(strings.NewReader("not json\n"), &out); err == nil {
		t.Fatal("Serve accepted a line that is not a request")
	}
	if out.Len() != 0 {
		t.Errorf("answered a bad request: %q", out.String())
	}
}

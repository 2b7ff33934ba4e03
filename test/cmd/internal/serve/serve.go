// Package serve runs the test servers' commands (test/cmd/...): one HTTP
// handler on one address until SIGTERM or SIGINT.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"
)

// UntilSignal listens on addr, prints "listening on http://ADDR" on stdout
// and serves h until SIGTERM or SIGINT, then shuts the server down, giving
// the requests in flight grace to finish. It returns nil after a signal
// (also when grace ran out), the error when listening or serving failed.
func UntilSignal(addr string, h http.Handler, grace time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

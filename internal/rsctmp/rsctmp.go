// Package rsctmp keeps small private files in HA_RSCTMP, the directory
// Pacemaker gives resource agents for state that lives until the node
// reboots: routeha's identity cache, IMDS token and last observation of the
// route tables. Anyone who can write to that directory (or a mistake with
// permissions) could plant a file there, so a file is believed only when it
// is a regular file, owned by the agent's own user, with mode 0600; it is
// written atomically and never through a symlink.
package rsctmp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// ErrUntrusted is wrapped by ReadPrivate's error for a file that exists
// but is not one this agent wrote: not regular, another owner, or a mode
// other than 0600. Callers ignore such a file and say so.
var ErrUntrusted = errors.New("not a private file of this user")

// ReadPrivate reads at most limit bytes of path, which must be a regular
// file owned by the effective user with mode 0600. A missing file is
// os.ErrNotExist; any other refusal wraps ErrUntrusted and says why.
func ReadPrivate(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s is a symbolic link: %w", path, ErrUntrusted)
		}
		return nil, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s): %w", path, fi.Mode().Type(), ErrUntrusted)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		return nil, fmt.Errorf("%s has mode %04o, not 0600: %w", path, perm, ErrUntrusted)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no owner to check: %w", path, ErrUntrusted)
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return nil, fmt.Errorf("%s is owned by uid %d, not by this agent's uid %d: %w", path, st.Uid, uid, ErrUntrusted)
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

// WritePrivate writes b to path atomically with mode 0600, creating the
// directory if needed, and never through a symlink: a temporary file made
// with O_EXCL, then renamed over path.
func WritePrivate(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

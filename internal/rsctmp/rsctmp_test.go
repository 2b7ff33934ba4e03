package rsctmp

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteThenRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state")
	require.NoError(t, WritePrivate(path, []byte("hello")))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	b, err := ReadPrivate(path, 1<<10)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	b, err = ReadPrivate(path, 2)
	require.NoError(t, err)
	assert.Equal(t, "he", string(b), "limit bounds the read")
}

func TestReadRefusesWhatThisAgentDidNotWrite(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, WritePrivate(good, []byte("x")))

	loose := filepath.Join(dir, "loose")
	require.NoError(t, os.WriteFile(loose, []byte("x"), 0o600))
	require.NoError(t, os.Chmod(loose, 0o666))

	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(good, link))

	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))

	for name, path := range map[string]string{"mode 0666": loose, "symlink": link, "fifo": fifo, "directory": dir} {
		_, err := ReadPrivate(path, 1<<10)
		assert.ErrorIs(t, err, ErrUntrusted, name)
	}
	_, err := ReadPrivate(filepath.Join(dir, "missing"), 1<<10)
	assert.True(t, errors.Is(err, os.ErrNotExist), "missing: %v", err)
}

func TestReadRefusesAnotherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	path := filepath.Join(t.TempDir(), "theirs")
	require.NoError(t, WritePrivate(path, []byte("x")))
	require.NoError(t, os.Chown(path, 65534, 65534))
	_, err := ReadPrivate(path, 1<<10)
	assert.ErrorIs(t, err, ErrUntrusted)
	assert.Contains(t, err.Error(), "owned by uid 65534")
}

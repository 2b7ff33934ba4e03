package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/suzlab/routeha/internal/platform"
)

// assetTagScript runs "$@" (after the directory $1 and the tag's path $2)
// in the mount namespace unshare made for it, with $1/board_asset_tag
// bind-mounted over the DMI asset tag, as a Nitro instance shows its
// instance id. A machine without DMI (a VM that is not Nitro) has no file
// to bind over and sysfs allows no new one: a read-only overlay of
// /sys/devices/virtual with $1/lower on top adds it first. The mounts are
// private, so nothing of it shows outside that namespace, and they go
// away with its last process.
const assetTagScript = `set -e
mount --make-rprivate /
if [ ! -e "$2" ]; then
	mount -t overlay overlay -o "lowerdir=$1/lower:/sys/devices/virtual" /sys/devices/virtual
fi
mount --bind "$1/board_asset_tag" "$2"
shift 2
exec "$@"`

// virtualDevices is the sysfs directory the overlay covers; the asset tag
// lies below it.
const virtualDevices = "/sys/devices/virtual/"

// withAssetTag returns the command line that runs name args with
// platform.AssetTagPath reading tag, and a function that removes the
// files it needed once the command has ended.
func withAssetTag(tag, name string, args ...string) ([]string, func(), error) {
	rel, ok := strings.CutPrefix(platform.AssetTagPath, virtualDevices)
	if !ok {
		return nil, nil, fmt.Errorf("lab: the asset tag %s is not under %s", platform.AssetTagPath, virtualDevices)
	}
	dir, err := os.MkdirTemp("", "routeha-assettag-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	placeholder := filepath.Join(dir, "lower", rel)
	err = os.MkdirAll(filepath.Dir(placeholder), 0o755)
	if err == nil {
		err = os.WriteFile(placeholder, nil, 0o444)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "board_asset_tag"), []byte(tag+"\n"), 0o444)
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	line := append([]string{"unshare", "--mount", "--", "/bin/sh", "-c", assetTagScript, "sh", dir, platform.AssetTagPath, name}, args...)
	return line, cleanup, nil
}

// hideAssetTagScript runs "$@" with an empty file over the DMI asset tag,
// where the action's namespace shows one (ip netns exec mounts a sysfs of
// its own, which shows the hardware's).
const hideAssetTagScript = `set -e
mount --make-rprivate /
if [ -e ` + platform.AssetTagPath + ` ]; then mount --bind /dev/null ` + platform.AssetTagPath + `; fi
exec "$@"`

// hostHasAssetTag reports whether this machine is a Nitro instance, whose
// DMI asset tag names its own instance id: the agent would compare it with
// the IMDS fake's instance and refuse the identity, so actions run with the
// tag hidden unless a test sets one (Runner.AssetTag).
func hostHasAssetTag() bool {
	b, err := os.ReadFile(platform.AssetTagPath)
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "i-")
}

// HiddenHostFiles are the host files an agent under test must not read from
// the host: the DMI asset tag, which on a Nitro host names the host's own
// instance (routeha would trust it over the IMDS fake). Give them to
// test/cluster (Config.Hide, AgentCommand).
func HiddenHostFiles() []string { return []string{platform.AssetTagPath} }

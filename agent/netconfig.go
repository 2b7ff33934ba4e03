package agent

import (
	"bufio"
	"bytes"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// The network tools of the cloud images that rewrite a NIC's addresses from
// the instance metadata, removing any they did not put there: the VIP
// among them, minutes after a start, while the route still points here.
// The SUSE and Red Hat guides for SAP on AWS say to switch them off for
// the NIC that carries the overlay IP. Paths are relative to the root of
// Adapters.Host, so that tests can give their own files.
const (
	// SLES: cloud-netconfig-ec2 manages a NIC whose ifcfg file says
	// CLOUD_NETCONFIG_MANAGE="yes".
	sysconfigNetwork = "etc/sysconfig/network"
	// RHEL: nm-cloud-setup, started by its timer or by NetworkManager,
	// acts on EC2 only with NM_CLOUD_SETUP_EC2=yes in its environment,
	// which a drop-in of the service sets.
	systemdEtc   = "etc/systemd/system"
	systemdLib   = "usr/lib/systemd/system"
	nmCloudSetup = "nm-cloud-setup"
)

// netconfigWarnings reads the configuration of cloud-netconfig (SLES) and
// nm-cloud-setup (RHEL) and says, for a VIP on a real NIC, which of them
// would remove it. The VIP on lo is left alone by both. Nothing here runs
// a program or asks a service: a file that cannot be read counts as not
// set.
func netconfigWarnings(host fs.FS, cfg *Config) []string {
	iface := cfg.Address.Interface
	if host == nil || iface == "lo" {
		return nil
	}
	var out []string
	if cloudNetconfigManages(host, iface) {
		out = append(out, "cloud-netconfig manages "+iface+" (CLOUD_NETCONFIG_MANAGE=yes in /"+sysconfigNetwork+"/ifcfg-"+iface+
			") and will remove the VIP "+cfg.IP.String()+" from it; set CLOUD_NETCONFIG_MANAGE='no' there, as SUSE's guide says")
	}
	if unit := nmCloudSetupActive(host); unit != "" {
		out = append(out, "nm-cloud-setup is enabled for EC2 ("+unit+") and will remove the VIP "+cfg.IP.String()+" from "+iface+
			"; disable nm-cloud-setup.timer and nm-cloud-setup.service, as Red Hat's guide says")
	}
	return out
}

// cloudNetconfigManages reports whether ifcfg-<iface> asks cloud-netconfig
// to manage the NIC. cloud-netconfig manages only NICs whose file says yes.
func cloudNetconfigManages(host fs.FS, iface string) bool {
	b, err := fs.ReadFile(host, path.Join(sysconfigNetwork, "ifcfg-"+iface))
	if err != nil {
		return false
	}
	v, ok := shellVar(b, "CLOUD_NETCONFIG_MANAGE")
	return ok && strings.EqualFold(v, "yes")
}

// shellVar is the last assignment to name in a sysconfig file (KEY=value,
// KEY='value' or KEY="value"; comments and other lines ignored).
func shellVar(b []byte, name string) (string, bool) {
	var val string
	found := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		v = strings.TrimSpace(v)
		if i := strings.Index(v, " #"); i >= 0 && !strings.HasPrefix(v, "'") && !strings.HasPrefix(v, `"`) {
			v = strings.TrimSpace(v[:i])
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		val, found = v, true
	}
	return val, found
}

// nmCloudSetupActive names the unit through which nm-cloud-setup would run
// on EC2 ("" when it would not): the timer or the service must be enabled
// (a link in a .wants directory) and not masked, and its environment must
// set NM_CLOUD_SETUP_EC2=yes.
func nmCloudSetupActive(host fs.FS) string {
	unit := ""
	for _, c := range []struct{ wants, name string }{
		{"timers.target.wants", nmCloudSetup + ".timer"},
		{"NetworkManager.service.wants", nmCloudSetup + ".service"},
	} {
		if _, err := fs.Stat(host, path.Join(systemdEtc, c.wants, c.name)); err == nil && !masked(host, c.name) {
			unit = c.name
			break
		}
	}
	if unit == "" || masked(host, nmCloudSetup+".service") || !nmCloudSetupEC2(host) {
		return ""
	}
	return unit
}

// masked reports whether /etc/systemd/system/<unit> is a link to /dev/null.
func masked(host fs.FS, unit string) bool {
	fi, err := fs.Stat(host, path.Join(systemdEtc, unit))
	return err == nil && fi.Mode()&fs.ModeDevice != 0
}

// nmCloudSetupEC2 reads the service's drop-ins as systemd orders them (by
// file name; one in /etc replaces one of the same name in /usr/lib) and
// reports whether the last setting of NM_CLOUD_SETUP_EC2 is yes.
func nmCloudSetupEC2(host fs.FS) bool {
	files := map[string]string{}
	for _, dir := range []string{systemdLib, systemdEtc} {
		d := path.Join(dir, nmCloudSetup+".service.d")
		entries, err := fs.ReadDir(host, d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".conf") {
				files[e.Name()] = path.Join(d, e.Name())
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	on := false
	for _, n := range names {
		b, err := fs.ReadFile(host, files[n])
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			v, ok := strings.CutPrefix(line, "Environment=")
			if !ok {
				continue
			}
			for _, f := range strings.Fields(v) {
				f = strings.Trim(f, `"'`)
				if val, ok := strings.CutPrefix(f, "NM_CLOUD_SETUP_EC2="); ok {
					on = strings.EqualFold(val, "yes")
				}
			}
		}
	}
	return on
}

// Package awsconf reads the AWS settings that routeha honours (where
// credentials come from, endpoint URLs, a CA bundle, FIPS and dual-stack
// endpoints) from the environment and the shared config and credentials
// files, with the precedence the AWS CLI and SDKs use.
//
// It exists so that routeha does not link aws-sdk-go-v2/config: that
// package brings the SSO, SSO-OIDC and sign-in clients into every binary,
// and their package initialisation alone was a tenth of a monitor, a
// process that lives about 20 ms (doc/BENCHMARKS.md). What routeha needs
// of it is small and is here, resolved without any network request; the
// credential providers themselves stay the SDK's (static keys, the instance
// profile, credential_process, STS AssumeRole), built in internal/awsec2.
// The rest is refused by name, not ignored: single sign-on and web
// identity are for people and pods, not for a cluster node's agent.
package awsconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Kind is where the first credentials of a chain come from.
type Kind int

const (
	// InstanceProfile is the EC2 instance profile, through IMDS.
	InstanceProfile Kind = iota
	// Static is a key pair (and maybe a session token) from the
	// environment or a shared file.
	Static
	// Process is a credential_process command.
	Process
)

// Keys are static credentials.
type Keys struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	// Origin names where they were found, for messages; never the keys.
	Origin string
}

// Role is an IAM role assumed with the credentials before it.
type Role struct {
	ARN         string
	ExternalID  string
	SessionName string
	Duration    time.Duration
}

// Credentials is a resolved chain: a base source, then roles assumed in
// order, each with the credentials of the step before.
type Credentials struct {
	Kind    Kind
	Keys    Keys   // for Static
	Command string // for Process
	Roles   []Role
}

// Settings is what the environment and the shared files say.
type Settings struct {
	// Profile is the profile the settings were read from.
	Profile     string
	Credentials Credentials
	// CABundle is a PEM file of extra roots for HTTPS, or empty.
	CABundle     string
	UseFIPS      bool
	UseDualStack bool

	endpoints map[string]string
}

// Endpoint returns the configured endpoint URL of a service ("ec2",
// "sts"), or empty for AWS's own.
func (s *Settings) Endpoint(service string) string { return s.endpoints[service] }

// ErrUnsupported marks a shared-file setting that routeha recognises but
// does not implement.
var ErrUnsupported = errors.New("not supported by routeha")

// Load resolves the settings. profile is the profile parameter; empty means
// the default chain: the keys in the environment, else AWS_PROFILE's
// profile or "default", whose credentials fall back to the instance profile
// when it has none. getenv reads the environment.
func Load(getenv func(string) string, profile string) (*Settings, error) {
	explicit := profile != ""
	name := profile
	if name == "" {
		name = getenv("AWS_PROFILE")
	}
	if name == "" {
		name = "default"
	}
	profiles, services, err := loadFiles(getenv)
	if err != nil {
		return nil, err
	}
	r := resolver{getenv: getenv, profiles: profiles}
	s := &Settings{Profile: name, endpoints: map[string]string{}}

	envKeys := Keys{
		AccessKeyID:     firstOf(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_ACCESS_KEY")),
		SecretAccessKey: firstOf(getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SECRET_KEY")),
		SessionToken:    getenv("AWS_SESSION_TOKEN"),
		Origin:          "the environment",
	}
	switch {
	case explicit:
		// A profile named in the configuration wins over keys in the
		// environment, as `aws --profile` and the SDK do.
		s.Credentials, err = r.fromProfile(name, nil)
	case envKeys.AccessKeyID != "" && envKeys.SecretAccessKey != "":
		s.Credentials = Credentials{Kind: Static, Keys: envKeys}
	case getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "":
		err = fmt.Errorf("AWS_WEB_IDENTITY_TOKEN_FILE (web identity credentials) is %w", ErrUnsupported)
	default:
		s.Credentials, err = r.fromProfile(name, nil)
	}
	if err != nil {
		return nil, err
	}

	p := profiles[name]
	prop := func(key string) string {
		if p == nil {
			return ""
		}
		return p.props[key]
	}
	s.CABundle = firstOf(getenv("AWS_CA_BUNDLE"), prop("ca_bundle"))
	if s.UseFIPS, err = boolSetting(getenv, prop, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"); err != nil {
		return nil, err
	}
	if s.UseDualStack, err = boolSetting(getenv, prop, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"); err != nil {
		return nil, err
	}
	ignore, err := boolSetting(getenv, prop, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ignore_configured_endpoint_urls")
	if err != nil {
		return nil, err
	}
	if !ignore {
		var svc map[string]map[string]string
		if sec := services[prop("services")]; sec != nil {
			svc = sec.sub
		}
		for _, id := range []string{"ec2", "sts"} {
			// The service's own setting before the global one, the
			// environment before the file, as the SDKs order them.
			s.endpoints[id] = firstOf(getenv("AWS_ENDPOINT_URL_"+strings.ToUpper(id)),
				svc[id]["endpoint_url"], getenv("AWS_ENDPOINT_URL"), prop("endpoint_url"))
		}
	}
	return s, nil
}

// resolver follows a profile's credential settings, source_profile by
// source_profile.
type resolver struct {
	getenv   func(string) string
	profiles map[string]*section
}

func (r resolver) fromProfile(name string, seen []string) (Credentials, error) {
	p := r.profiles[name]
	if p == nil {
		if name == "default" && len(seen) == 0 {
			// No default profile at all: the SDK's chain ends at the
			// instance profile.
			return Credentials{Kind: InstanceProfile}, nil
		}
		return Credentials{}, fmt.Errorf("AWS profile %q is in neither the shared config nor the credentials file", name)
	}
	for _, s := range seen {
		if s == name {
			return Credentials{}, fmt.Errorf("AWS profile %q: source_profile loops back through %s", name, strings.Join(seen, " → "))
		}
	}
	seen = append(seen, name)
	get := func(k string) string { return p.props[k] }
	keys := Keys{
		AccessKeyID: get("aws_access_key_id"), SecretAccessKey: get("aws_secret_access_key"),
		SessionToken: get("aws_session_token"), Origin: fmt.Sprintf("profile %q", name),
	}
	hasKeys := keys.AccessKeyID != "" && keys.SecretAccessKey != ""
	roleARN, source, credSource := get("role_arn"), get("source_profile"), get("credential_source")

	var c Credentials
	switch {
	case source != "" && credSource != "":
		return Credentials{}, fmt.Errorf("AWS profile %q sets both source_profile and credential_source", name)
	case source != "" && source == name:
		// A profile may name itself as its source: its own keys
		// assume its own role.
		if !hasKeys {
			return Credentials{}, fmt.Errorf("AWS profile %q is its own source_profile but has no keys", name)
		}
		c = Credentials{Kind: Static, Keys: keys}
	case source != "":
		var err error
		if c, err = r.fromProfile(source, seen); err != nil {
			return Credentials{}, err
		}
	case hasKeys:
		c = Credentials{Kind: Static, Keys: keys}
	case credSource != "":
		switch credSource {
		case "Ec2InstanceMetadata":
			c = Credentials{Kind: InstanceProfile}
		case "Environment":
			env := Keys{
				AccessKeyID: r.getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: r.getenv("AWS_SECRET_ACCESS_KEY"),
				SessionToken: r.getenv("AWS_SESSION_TOKEN"), Origin: "the environment",
			}
			if env.AccessKeyID == "" || env.SecretAccessKey == "" {
				return Credentials{}, fmt.Errorf("AWS profile %q: credential_source = Environment, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set", name)
			}
			c = Credentials{Kind: Static, Keys: env}
		default:
			return Credentials{}, fmt.Errorf("AWS profile %q: credential_source = %s is %w (Ec2InstanceMetadata and Environment are)", name, credSource, ErrUnsupported)
		}
	case get("web_identity_token_file") != "":
		return Credentials{}, fmt.Errorf("AWS profile %q: web_identity_token_file is %w", name, ErrUnsupported)
	case get("sso_session") != "" || get("sso_start_url") != "" || get("login_session") != "":
		return Credentials{}, fmt.Errorf("AWS profile %q: single sign-on is %w; an unattended cluster node needs keys, a role or the instance profile", name, ErrUnsupported)
	case get("credential_process") != "":
		c = Credentials{Kind: Process, Command: get("credential_process")}
	case len(seen) > 1:
		// The SDK refuses a source_profile with nothing in it rather
		// than falling back to the instance profile.
		return Credentials{}, fmt.Errorf("AWS profile %q, the source_profile of %q, has no credentials", name, seen[len(seen)-2])
	default:
		c = Credentials{Kind: InstanceProfile}
	}
	if (source != "" || credSource != "") && roleARN == "" {
		return Credentials{}, fmt.Errorf("AWS profile %q sets source_profile or credential_source without role_arn", name)
	}
	if roleARN != "" {
		if source == "" && credSource == "" {
			return Credentials{}, fmt.Errorf("AWS profile %q sets role_arn without source_profile or credential_source", name)
		}
		if get("mfa_serial") != "" {
			return Credentials{}, fmt.Errorf("AWS profile %q: mfa_serial is %w: an agent cannot type an MFA code", name, ErrUnsupported)
		}
		role := Role{ARN: roleARN, ExternalID: get("external_id"), SessionName: get("role_session_name")}
		if d := get("duration_seconds"); d != "" {
			n, err := strconv.Atoi(d)
			if err != nil || n < 900 || n > 43200 {
				return Credentials{}, fmt.Errorf("AWS profile %q: duration_seconds = %q is not a number of seconds from 900 to 43200", name, d)
			}
			role.Duration = time.Duration(n) * time.Second
		}
		c.Roles = append(c.Roles, role)
	}
	return c, nil
}

// loadFiles reads the shared config and credentials files and merges them
// into profiles (the credentials file wins a key both set, as in the SDK)
// and [services] sections. A file that does not exist is empty.
func loadFiles(getenv func(string) string) (profiles, services map[string]*section, err error) {
	configPath, credsPath := getenv("AWS_CONFIG_FILE"), getenv("AWS_SHARED_CREDENTIALS_FILE")
	if configPath == "" || credsPath == "" {
		home := homeDir(getenv)
		if configPath == "" {
			configPath = filepath.Join(home, ".aws", "config")
		}
		if credsPath == "" {
			credsPath = filepath.Join(home, ".aws", "credentials")
		}
	}
	profiles, services = map[string]*section{}, map[string]*section{}
	config, err := readINI(configPath)
	if err != nil {
		return nil, nil, err
	}
	for header, sec := range config {
		switch typ, name, _ := strings.Cut(header, " "); {
		case header == "default":
			mergeInto(profiles, "default", sec)
		case typ == "profile" && name != "":
			mergeInto(profiles, name, sec)
		case typ == "services" && name != "":
			services[name] = sec
		}
		// [sso-session ...] and headers of no known type are left alone,
		// as the SDK leaves them.
	}
	creds, err := readINI(credsPath)
	if err != nil {
		return nil, nil, err
	}
	for name, sec := range creds {
		mergeInto(profiles, name, sec)
	}
	return profiles, services, nil
}

func mergeInto(profiles map[string]*section, name string, sec *section) {
	dst := profiles[name]
	if dst == nil {
		dst = &section{props: map[string]string{}, sub: map[string]map[string]string{}}
		profiles[name] = dst
	}
	for k, v := range sec.props {
		dst.props[k] = v
	}
	for k, v := range sec.sub {
		dst.sub[k] = v
	}
}

func readINI(path string) (iniFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return iniFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("AWS shared file: %w", err)
	}
	defer f.Close()
	parsed, err := parseINI(f)
	if err != nil {
		return nil, fmt.Errorf("AWS shared file %s: %w", path, err)
	}
	return parsed, nil
}

// homeDir is $HOME, else the home of the user in the password database:
// Pacemaker's execd, started by systemd, often has no HOME at all, and the
// AWS CLI (which aws-vpc-move-ip runs) still finds root's ~/.aws there.
func homeDir(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/"
}

// boolSetting reads a true/false setting from the environment, else from
// the profile.
func boolSetting(getenv func(string) string, prop func(string) string, env, key string) (bool, error) {
	origin, v := env, getenv(env)
	if v == "" {
		origin, v = key, prop(key)
	}
	switch strings.ToLower(v) {
	case "":
		return false, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s = %q is neither true nor false", origin, v)
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

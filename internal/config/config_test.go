package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestPasswordHashMemorySetting(t *testing.T) {
	load := func(env map[string]string, args ...string) (Config, error) {
		c := Default()
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		if err := c.RegisterFlags(fs, func(k string) string { return env[k] }); err != nil {
			return c, err
		}
		if err := fs.Parse(args); err != nil {
			return c, err
		}
		return c, c.Validate()
	}
	if c, err := load(nil); err != nil || c.PasswordHashMemoryMiB != 184 {
		t.Errorf("default = %d, %v; want 184", c.PasswordHashMemoryMiB, err)
	}
	if c, err := load(map[string]string{"VIGIL_PASSWORD_HASH_MEMORY": "460"}); err != nil || c.PasswordHashMemoryMiB != 460 {
		t.Errorf("from the environment = %d, %v; want 460", c.PasswordHashMemoryMiB, err)
	}
	if c, err := load(map[string]string{"VIGIL_PASSWORD_HASH_MEMORY": "460"}, "--password-hash-memory", "92"); err != nil || c.PasswordHashMemoryMiB != 92 {
		t.Errorf("flag over environment = %d, %v; want 92", c.PasswordHashMemoryMiB, err)
	}
	if _, err := load(map[string]string{"VIGIL_PASSWORD_HASH_MEMORY": "lots"}); err == nil || !strings.Contains(err.Error(), "VIGIL_PASSWORD_HASH_MEMORY") {
		t.Errorf("a word in the environment = %v, want an error naming the variable", err)
	}
	for _, bad := range []string{"0", "45", "-1", "100000"} {
		if _, err := load(nil, "--password-hash-memory", bad); err == nil || !strings.Contains(err.Error(), "--password-hash-memory") {
			t.Errorf("--password-hash-memory %s = %v, want an error naming the flag", bad, err)
		}
	}
	c := Default()
	for _, kv := range c.Redacted() {
		if kv[0] == "password-hash-memory" && kv[1] != "184" {
			t.Errorf("Redacted shows %q", kv[1])
		}
	}
}

// The ingest listeners' addresses are host:port, and syslog over TLS
// needs the certificate and key.
func TestIngestListenerSettings(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.SyslogUDP, c.SyslogTCP, c.RELP = "0.0.0.0:514", "127.0.0.1:6601", ":2514" }, ""},
		{func(c *Config) { c.SyslogTCP = "514" }, "--syslog-tcp: want host:port"},
		{func(c *Config) { c.RELP = "relp.example" }, "--relp: want host:port"},
		{func(c *Config) { c.NetFlow = "0.0.0.0:2055" }, ""},
		{func(c *Config) { c.NetFlow = "2055" }, "--netflow: want host:port"},
		{func(c *Config) { c.SyslogTLS = ":6514" }, "--syslog-tls: needs --tls-cert and --tls-key"},
		{func(c *Config) { c.SyslogTLS, c.TLSCert, c.TLSKey = ":6514", "c.pem", "k.pem" }, "--tls-cert: cannot read c.pem"},
		{func(c *Config) { c.O365Config = "/nonexistent/o365.yaml" }, "--o365-config: cannot read /nonexistent/o365.yaml"},
	} {
		cfg := Default()
		c.mod(&cfg)
		err := cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("syslog-udp %q tcp %q tls %q relp %q: %v, want %q", cfg.SyslogUDP, cfg.SyslogTCP, cfg.SyslogTLS, cfg.RELP, err, c.want)
		}
	}
}

func TestEventsRetention(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "8760h": 8760 * time.Hour, "forever": 0, "": 0} {
		c := Default()
		c.EventsMaxAge = in
		if got, err := c.EventsRetention(); err != nil || got != want {
			t.Errorf("%q = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"soon", "0d", "-5d", "30m", "d"} {
		c := Default()
		c.EventsMaxAge = in
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--events-max-age") {
			t.Errorf("%q: %v", in, err)
		}
	}
}

// Retention by age and size, per organisation: the defaults, overrides
// that take the default for a part they leave empty, and each bad value
// refused naming its flag and its organisation.
func TestEventsPolicy(t *testing.T) {
	c := Default()
	c.EventsMaxAge, c.EventsMaxBytes = "90d", "50GB"
	c.EventsRetentionOrgs = "rj1=30d/20GiB, RQM=forever ,R1H=/5GB"
	def, orgs, err := c.EventsPolicy()
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	if def != (RetentionLimit{90 * day, 50e9}) {
		t.Errorf("default %+v", def)
	}
	want := map[string]RetentionLimit{"RJ1": {30 * day, 20 << 30}, "RQM": {0, 50e9}, "R1H": {90 * day, 5e9}}
	if len(orgs) != len(want) {
		t.Errorf("orgs %+v", orgs)
	}
	for code, w := range want {
		if orgs[code] != w {
			t.Errorf("%s = %+v, want %+v", code, orgs[code], w)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid settings refused: %v", err)
	}
	for _, bad := range []struct{ maxBytes, orgs, want string }{
		{"lots", "", "--events-max-bytes"},
		{"100", "", "--events-max-bytes"}, // under 1 MiB: a typo for 100GB
		{"", "RJ1", "--events-retention"},
		{"", "RJ1=30d,RJ1=60d", "RJ1 is given twice"},
		{"", "RJ1=soon", "RJ1: age"},
		{"", "RJ1=/big", "RJ1: size"},
		{"", "=30d", "--events-retention"},
	} {
		c := Default()
		c.EventsMaxBytes, c.EventsRetentionOrgs = bad.maxBytes, bad.orgs
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want an error naming %q", bad, err, bad.want)
		}
	}
}

func TestSilentSources(t *testing.T) {
	c := Default()
	if f, d, err := c.SilentSources(); err != nil || f != 4 || d != 5*time.Minute {
		t.Fatalf("defaults = %v %v %v", f, d, err)
	}
	for _, x := range []struct{ factor, floor, want string }{
		{"0", "5m", ""}, {"2.5", "1h", ""}, {"x", "5m", "--silent-factor"}, {"0.5", "5m", "--silent-factor"},
		{"-1", "5m", "--silent-factor"}, {"NaN", "5m", "--silent-factor"}, {"4", "10s", "--silent-floor"}, {"4", "soon", "--silent-floor"},
	} {
		c := Default()
		c.SilentFactor, c.SilentFloor = x.factor, x.floor
		err := c.Validate()
		if x.want == "" && err != nil || x.want != "" && (err == nil || !strings.Contains(err.Error(), x.want)) {
			t.Errorf("factor %q floor %q: %v, want %q", x.factor, x.floor, err, x.want)
		}
	}
}

func TestClusterSettings(t *testing.T) {
	load := func(args ...string) (Config, error) {
		c := Default()
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		if err := c.RegisterFlags(fs, func(string) string { return "" }); err != nil {
			return c, err
		}
		if err := fs.Parse(args); err != nil {
			return c, err
		}
		return c, c.Validate()
	}
	if c, err := load(); err != nil || c.NATSReplicas != 1 || c.LeaderLease != "15s" {
		t.Errorf("defaults = %d, %q, %v; want 1, 15s", c.NATSReplicas, c.LeaderLease, err)
	}
	if c, err := load("--nats", "nats://a:4222,nats://b:4222,nats://c:4222", "--nats-replicas", "3", "--leader-lease", "5s"); err != nil || c.NATSReplicas != 3 {
		t.Errorf("a cluster of three = %d, %v", c.NATSReplicas, err)
	}
	if c, err := load("--nats", "nats://a:4222", "--nats-prefix", "staging_2"); err != nil || c.NATSPrefix != "staging_2" {
		t.Errorf("--nats-prefix staging_2 = %q, %v", c.NATSPrefix, err)
	}
	if c, err := load("--assurance-expiry-notice", "6w"); err != nil {
		t.Errorf("--assurance-expiry-notice 6w: %v", err)
	} else if d, _ := c.ExpiryNotice(); d != 42*24*time.Hour {
		t.Errorf("6w = %s", d)
	}
	if c, err := load(); err != nil || c.NATSPrefix != "" {
		t.Errorf("default prefix = %q, %v; want none, so a deployment keeps its streams", c.NATSPrefix, err)
	}
	for _, args := range [][]string{
		{"--nats-prefix", "prod.eu"},
		{"--nats-prefix", "prod-eu"},
		{"--nats-replicas", "3"}, // embedded: one server
		{"--nats", "nats://a:4222", "--nats-replicas", "0"},
		{"--nats", "nats://a:4222", "--nats-replicas", "7"},
		{"--leader-lease", "1s"},
		{"--leader-lease", "soon"},
		{"--assurance-expiry-notice", "0d"},
		{"--assurance-expiry-notice", "a month"},
		{"--assurance-expiry-notice", "400d"},
	} {
		want := args[len(args)-2]
		if _, err := load(args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q = %v, want an error naming %s", args, err, want)
		}
	}
}

// --gc-percent (VIGIL_GC_PERCENT) is serve's GOGC: 200 unless set, and a
// number a collector can use.
func TestGCPercentSetting(t *testing.T) {
	load := func(env map[string]string, args ...string) (Config, error) {
		c := Default()
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		if err := c.RegisterFlags(fs, func(k string) string { return env[k] }); err != nil {
			return c, err
		}
		if err := fs.Parse(args); err != nil {
			return c, err
		}
		return c, c.Validate()
	}
	if c, err := load(nil); err != nil || c.GCPercent != 200 {
		t.Errorf("default = %d, %v; want 200", c.GCPercent, err)
	}
	if c, err := load(map[string]string{"VIGIL_GC_PERCENT": "100"}); err != nil || c.GCPercent != 100 {
		t.Errorf("from the environment = %d, %v; want 100", c.GCPercent, err)
	}
	for _, bad := range []string{"0", "-1", "24", "2001"} {
		if _, err := load(nil, "--gc-percent", bad); err == nil || !strings.Contains(err.Error(), "--gc-percent") {
			t.Errorf("--gc-percent %s = %v, want an error naming the flag", bad, err)
		}
	}
}

func TestVulnSyncInterval(t *testing.T) {
	for _, x := range []struct {
		v    string
		want time.Duration
		err  bool
	}{{"", 0, false}, {"0", 0, false}, {"6h", 6 * time.Hour, false}, {"10s", 0, true}, {"daily", 0, true}} {
		c := Default()
		c.VulnSyncInterval = x.v
		d, err := c.VulnSyncEvery()
		verr := c.Validate()
		if d != x.want || (err != nil) != x.err || (verr != nil) != x.err || x.err && !strings.Contains(verr.Error(), "--vuln-sync-interval") {
			t.Errorf("%q: %v %v (Validate: %v)", x.v, d, err, verr)
		}
	}
}

// Package config holds Vigil's settings: defaults, then VIGIL_* environment
// variables, then command-line flags. Validate names the field at fault,
// and Redacted is the only form that may be printed or logged.
package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigil-health/vigil/internal/bus"
)

// Config is every setting of a Vigil process.
type Config struct {
	DataDir     string
	DatabaseURL string
	NATSURL     string
	HTTPAddr    string
	// BaseURL is the address users reach Vigil at, for links and the OIDC
	// redirect; default http://HTTPAddr.
	BaseURL string
	TLSCert string
	TLSKey  string
	// AutoMigrate applies pending migrations at start-up (default true).
	AutoMigrate bool
	// NATSSyncAlways fsyncs every JetStream write (survives power loss; slower).
	NATSSyncAlways bool
	// NATSReplicas is how many servers of the external NATS cluster hold
	// each of Vigil's streams and key-value buckets (1 to 5; 3 survives
	// the loss of one server). Only 1 with the embedded server.
	NATSReplicas int
	// NATSPrefix is the deployment's namespace on a NATS server it shares
	// with other deployments (or test runs): every stream, durable
	// consumer, key-value bucket and subject gets it (bus.Namespace).
	// Empty, the default, keeps the names a deployment had before there
	// was a prefix.
	NATSPrefix string
	// LeaderLease is how long the servers' leader holds its lease on the
	// duties that run once per deployment without renewing it: how long a
	// dead leader's duties wait for another server (docs/deployment.md).
	LeaderLease string
	// AssuranceExpiryNotice is how long before a certificate or other
	// dated supplier evidence lapses the alerts inbox is told (and told
	// again once it has lapsed): days or weeks, e.g. 30d or 6w.
	AssuranceExpiryNotice string
	// LogLevel is debug, info, warn or error; "auto" (the default) is
	// warn when the log goes to a terminal — a person running Vigil sees
	// warnings and errors, not every request — and info otherwise (a
	// service manager's journal, a container's log).
	LogLevel  string
	LogFormat string
	// PasswordHashMemoryMiB bounds the memory of concurrent password checks:
	// each argon2id check takes 46 MiB, so the default 184 lets four run at
	// once and makes the rest wait (auth.Hasher).
	PasswordHashMemoryMiB int

	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	// OIDCRoleMap maps IdP groups to grants: "group=role@ORG,…".
	OIDCRoleMap string
	// OIDCName labels the sign-in button.
	OIDCName string

	// ReadOnly opens the database without writing anything (forensics on
	// a copy); it is also chosen by itself when the data directory is not
	// writable.
	ReadOnly bool
	// AuditKeyFile holds the audit chain's HMAC key; default
	// DataDir/audit.key, created on the first start.
	AuditKeyFile string
	// AuditKey is the key itself (hex), e.g. from a secret store.
	AuditKey string
	// SecretsKeyFile holds the key that seals secrets kept in the
	// database (intelligence feeds' credentials); default
	// DataDir/secrets.key, created on the first start.
	SecretsKeyFile string
	// SecretsKey is the key(s) itself (hex, comma-separated, the first
	// sealing), e.g. from a secret store.
	SecretsKey string

	// CaseSLA overrides the cases' SLA clocks per severity:
	// "critical=15m/1h/24h,high=…" (acknowledge/respond/resolve; checked
	// by the cases package, which holds the defaults).
	CaseSLA string
	// SMTPAddr (host:port) is where notification e-mail is submitted;
	// empty sends none. SMTPPassword is a secret.
	SMTPAddr     string
	SMTPFrom     string
	SMTPUser     string
	SMTPPassword string
	// SMTPStartTLS is required (default), opportunistic or off.
	SMTPStartTLS string
	// WebhookAllowHTTP accepts http:// webhook URLs (development only).
	WebhookAllowHTTP bool

	// Ingest listeners (issue 16; internal/ingest): host:port each, empty
	// for off. SyslogTLS uses TLSCert and TLSKey. IngestMap is the file
	// mapping senders' addresses to organisations (docs/ingest.md).
	SyslogUDP string
	SyslogTCP string
	SyslogTLS string
	RELP      string
	NetFlow   string
	IngestMap string
	// O365Config is the Microsoft 365 / Entra ID poller's file (tenants,
	// app registrations, owning organisations; docs/ingest.md); empty
	// for no poller.
	O365Config string
	// EventsURL puts security events on ClickHouse (ADR 0008):
	// http://host:8123/?database=vigil or clickhouse://host:8123/vigil;
	// empty keeps them in Vigil's own database.
	EventsURL string
	// EventsStore is how events are kept in Vigil's own database (no
	// EventsURL): "rows" (a row an event, ADR 0007), "blocks" (compressed
	// blocks of events, ADR 0012) or "" for the one the database uses
	// (events.Open).
	EventsStore string
	// EventsMaxAge is how long events are kept: 90d, 26w, 8760h, or
	// "forever" (EventsRetention parses it).
	EventsMaxAge string
	// EventsMaxBytes caps what each organisation's events take (50GB,
	// 500GiB; empty: no cap), the oldest days going first.
	EventsMaxBytes string
	// EventsRetentionOrgs overrides age and size per organisation:
	// ODS=AGE/SIZE,… with either part empty for the default
	// (RJ1=30d/20GB,RQM=365d,R1H=/5GB; EventsPolicy parses all three).
	EventsRetentionOrgs string
	// SilentFactor and SilentFloor say when a log source is silent: quiet
	// for longer than max(factor × its usual interval, floor); factor 0
	// turns the alerts off (SilentSources parses them).
	SilentFactor string
	SilentFloor  string
	// Rules are the Sigma rule files and directories live detection runs
	// (comma-separated; empty: no live detection), and RulePlaceholders
	// the YAML file of values for rules using |expand. RulePipeline are
	// the processing pipelines applied to them (comma-separated built-in
	// names or pySigma/sigmac YAML files; empty: ingest's mapping alone).
	Rules            string
	RulePlaceholders string
	RulePipeline     string
	// VulnOSV is the OSV directory stored SBOMs and inventories are
	// matched against (an SBOM stored is matched at once; empty: only
	// `vigil vuln match --osv`); VulnKEV and VulnEPSS the CISA KEV
	// catalogue and FIRST EPSS CSV read at each match; VulnSLA the time
	// to fix per priority (P1=3d,P2=14d,P3=30d,P4=90d by default).
	VulnOSV, VulnKEV, VulnEPSS, VulnSLA string
	// VulnSyncInterval is how often the leader fetches the vulnerability
	// sources named by VulnSyncNVD, VulnSyncKEV, VulnSyncEPSS,
	// VulnSyncCSAF and VulnSyncOSV (URLs) into VulnSyncDir (vuln.Sync; empty or 0: never);
	// NVDAPIKey is sent to NVD as the apiKey header.
	VulnSyncInterval, VulnSyncDir                        string
	VulnSyncNVD, VulnSyncKEV, VulnSyncEPSS, VulnSyncCSAF string
	// VulnSyncOSV is the base URL of osv.dev's per-ecosystem all.zip
	// archives, and VulnSyncOSVEcosystems the comma-separated ecosystems
	// fetched from it (empty: vuln.DefaultOSVEcosystems).
	VulnSyncOSV, VulnSyncOSVEcosystems string
	NVDAPIKey                          string
	// Analytics is the analytics file (first seen, rare values, volume,
	// impossible travel; docs/analytics.md): empty for the shipped
	// defaults, "off" for none.
	Analytics string
	// IOCRetroDays is how many days of stored events a new indicator is
	// retro-matched against (internal/intel/match); 0: no retro-matching.
	IOCRetroDays int
	// GCPercent is serve's garbage collection target (Go's GOGC): the
	// heap grows by this percentage of what is live before the collector
	// runs again. GOGC in the environment wins when set.
	GCPercent int
	// IntelFeedsPrivate lets intelligence feeds fetch from loopback,
	// private and link-local addresses (internal/intel/pull); off, a
	// feed URL cannot reach into the server's own network.
	IntelFeedsPrivate bool
	// Attack is MITRE's ATT&CK STIX bundle (enterprise-attack.json, 2.0
	// or 2.1, gzipped or not) for the Coverage page; empty: no page.
	Attack string
}

// DefaultGCPercent is serve's GC target: at Go's 100 the collector's
// own goroutines took 1.75 µs of serve's 26 µs of CPU an event at full
// syslog ingest, at 200 0.6 µs, for a peak resident memory of about
// 800 MiB against 470-510 (docs/performance.md, "Syslog end to end").
const DefaultGCPercent = 200

// Default returns the settings of a fresh single-machine install.
func Default() Config {
	return Config{
		DataDir:      "./vigil-data",
		HTTPAddr:     "127.0.0.1:8080",
		AutoMigrate:  true,
		LogLevel:     "auto",
		LogFormat:    "text",
		OIDCName:     "single sign-on",
		SMTPStartTLS: "required",
		EventsMaxAge: "90d",
		SilentFactor: "4",
		SilentFloor:  "5m",
		// 4 × auth.HashMemoryMiB (46): config imports nothing of Vigil's,
		// and app's tests check the two agree.
		PasswordHashMemoryMiB: 184,
		IOCRetroDays:          7,
		GCPercent:             DefaultGCPercent,
		NATSReplicas:          1,
		LeaderLease:           "15s",
		AssuranceExpiryNotice: "30d",
	}
}

type setting struct {
	flag, env, help string
	str             *string
	boolean         *bool
	integer         *int
	secret          bool
}

func (c *Config) settings() []setting {
	return []setting{
		{flag: "data-dir", env: "VIGIL_DATA_DIR", help: "directory for the embedded database and message store", str: &c.DataDir},
		{flag: "database-url", env: "VIGIL_DATABASE_URL", help: "postgres://… to use PostgreSQL; empty for SQLite in the data dir", str: &c.DatabaseURL, secret: true},
		{flag: "nats", env: "VIGIL_NATS_URL", help: "nats://… of a NATS JetStream cluster; empty for the embedded server", str: &c.NATSURL, secret: true},
		{flag: "http", env: "VIGIL_HTTP", help: "address the web UI and API listen on", str: &c.HTTPAddr},
		{flag: "base-url", env: "VIGIL_BASE_URL", help: "public URL of this Vigil (default http://<http address>)", str: &c.BaseURL},
		{flag: "tls-cert", env: "VIGIL_TLS_CERT", help: "TLS certificate file (PEM); serve HTTPS when set", str: &c.TLSCert},
		{flag: "tls-key", env: "VIGIL_TLS_KEY", help: "TLS private key file (PEM)", str: &c.TLSKey},
		{flag: "auto-migrate", env: "VIGIL_AUTO_MIGRATE", help: "apply pending database migrations at start-up", boolean: &c.AutoMigrate},
		{flag: "nats-sync-always", env: "VIGIL_NATS_SYNC_ALWAYS", help: "fsync every JetStream write (survives power loss, slower)", boolean: &c.NATSSyncAlways},
		{flag: "nats-replicas", env: "VIGIL_NATS_REPLICAS", help: "servers of the external NATS cluster holding each stream (1 to 5; 3 survives losing one)", integer: &c.NATSReplicas},
		{flag: "nats-prefix", env: "VIGIL_NATS_PREFIX", help: "this deployment's namespace on a shared NATS server: prefix of every stream, consumer, bucket and subject (letters, digits, _; empty for none)", str: &c.NATSPrefix},
		{flag: "leader-lease", env: "VIGIL_LEADER_LEASE", help: "how long a dead server's once-per-deployment duties (clocks, retention) wait before another server takes them, e.g. 15s", str: &c.LeaderLease},
		{flag: "assurance-expiry-notice", env: "VIGIL_ASSURANCE_EXPIRY_NOTICE", help: "how long before a supplier's certificate or other dated evidence lapses the alerts inbox is told, e.g. 30d or 6w (told again when it lapses)", str: &c.AssuranceExpiryNotice},
		{flag: "log-level", env: "VIGIL_LOG_LEVEL", help: "debug, info, warn, error, or auto: warn on a terminal, info otherwise", str: &c.LogLevel},
		{flag: "log-format", env: "VIGIL_LOG_FORMAT", help: "text or json", str: &c.LogFormat},
		{flag: "password-hash-memory", env: "VIGIL_PASSWORD_HASH_MEMORY", help: "MiB for concurrent password checks (46 MiB each; more sign-ins wait their turn)", integer: &c.PasswordHashMemoryMiB},
		{flag: "oidc-issuer", env: "VIGIL_OIDC_ISSUER", help: "OpenID Connect issuer URL; enables single sign-on", str: &c.OIDCIssuer},
		{flag: "oidc-client-id", env: "VIGIL_OIDC_CLIENT_ID", help: "OpenID Connect client ID", str: &c.OIDCClientID},
		{flag: "oidc-client-secret", env: "VIGIL_OIDC_CLIENT_SECRET", help: "OpenID Connect client secret (prefer the environment variable)", str: &c.OIDCClientSecret, secret: true},
		{flag: "oidc-role-map", env: "VIGIL_OIDC_ROLE_MAP", help: "IdP groups to roles: group=role@ORG,…", str: &c.OIDCRoleMap},
		{flag: "oidc-name", env: "VIGIL_OIDC_NAME", help: "label of the single sign-on button", str: &c.OIDCName},
		{flag: "read-only", env: "VIGIL_READ_ONLY", help: "open the database read-only and change nothing in the data directory (forensics on a copy); commands that would change data refuse. Chosen by itself when the data directory is not writable", boolean: &c.ReadOnly},
		{flag: "audit-key-file", env: "VIGIL_AUDIT_KEY_FILE", help: "file holding the audit chain's HMAC key, kept outside the database (default <data-dir>/audit.key, created on the first start; every server sharing one database needs the same key)", str: &c.AuditKeyFile},
		{flag: "secrets-key-file", env: "VIGIL_SECRETS_KEY_FILE", help: "file holding the key that seals secrets kept in the database (feeds' passwords and tokens), one hexadecimal key a line, the first sealing (default <data-dir>/secrets.key, created on the first start; every server sharing one database needs the same file)", str: &c.SecretsKeyFile},
		{flag: "case-sla", env: "VIGIL_CASE_SLA", help: "SLA clocks of cases per severity, overriding the defaults: severity=acknowledge/respond/resolve,… e.g. critical=15m/1h/24h,high=1h/4h/72h (0: no clock)", str: &c.CaseSLA},
		{flag: "smtp-addr", env: "VIGIL_SMTP_ADDR", help: "host:port of the SMTP submission server for notification e-mail (empty: no e-mail)", str: &c.SMTPAddr},
		{flag: "smtp-from", env: "VIGIL_SMTP_FROM", help: "sender of notification e-mail, e.g. \"Vigil <vigil@example.nhs.uk>\"", str: &c.SMTPFrom},
		{flag: "smtp-user", env: "VIGIL_SMTP_USER", help: "SMTP user name (AUTH PLAIN, only over TLS or to localhost)", str: &c.SMTPUser},
		{flag: "smtp-password", env: "VIGIL_SMTP_PASSWORD", help: "SMTP password (prefer the environment variable)", str: &c.SMTPPassword, secret: true},
		{flag: "smtp-starttls", env: "VIGIL_SMTP_STARTTLS", help: "required (refuse to send in clear), opportunistic, or off", str: &c.SMTPStartTLS},
		{flag: "webhook-allow-http", env: "VIGIL_WEBHOOK_ALLOW_HTTP", help: "accept http:// notification webhook URLs (development only: events then travel in clear)", boolean: &c.WebhookAllowHTTP},
		{flag: "syslog-udp", env: "VIGIL_SYSLOG_UDP", help: "host:port to receive syslog over UDP (RFC 5424 and 3164; empty: off)", str: &c.SyslogUDP},
		{flag: "syslog-tcp", env: "VIGIL_SYSLOG_TCP", help: "host:port to receive syslog over TCP (octet counting or LF framing; empty: off)", str: &c.SyslogTCP},
		{flag: "syslog-tls", env: "VIGIL_SYSLOG_TLS", help: "host:port to receive syslog over TLS (RFC 5425), with --tls-cert and --tls-key (empty: off)", str: &c.SyslogTLS},
		{flag: "relp", env: "VIGIL_RELP", help: "host:port to receive RELP (rsyslog omrelp), acknowledged once stored (empty: off)", str: &c.RELP},
		{flag: "netflow", env: "VIGIL_NETFLOW", help: "host:port to receive flow exports over UDP: NetFlow v5, v9 and IPFIX on one port (empty: off)", str: &c.NetFlow},
		{flag: "ingest-map", env: "VIGIL_INGEST_MAP", help: "YAML file mapping senders' addresses and listeners to organisations, read again on SIGHUP (docs/ingest.md; empty: every event to the national root)", str: &c.IngestMap},
		{flag: "o365-config", env: "VIGIL_O365_CONFIG", help: "YAML file of Microsoft 365 / Entra ID tenants to poll (Management Activity API, Graph sign-in and audit logs) with their app registrations and organisations (docs/ingest.md; empty: off)", str: &c.O365Config},
		{flag: "events-url", env: "VIGIL_EVENTS_URL", help: "ClickHouse for security events: http://host:8123/?database=vigil or clickhouse://host:8123/vigil (its HTTP interface; empty: events in Vigil's database)", str: &c.EventsURL, secret: true},
		{flag: "events-store", env: "VIGIL_EVENTS_STORE", help: "how security events are kept in Vigil's own database: blocks (compressed blocks of events: a third less CPU a stored event and an eighth of the disk, searches reading the blocks; docs/adr/0012-event-blocks.md) or rows (a row an event, indexed by time, organisation and EventID; ADR 0007); empty: the store that already holds the database's events, and for a new database rows on PostgreSQL, blocks on SQLite (not with --events-url)", str: &c.EventsStore},
		{flag: "events-max-age", env: "VIGIL_EVENTS_MAX_AGE", help: "how long security events are kept: 90d, 26w, 8760h, or forever (older days are dropped hourly)", str: &c.EventsMaxAge},
		{flag: "events-max-bytes", env: "VIGIL_EVENTS_MAX_BYTES", help: "most each organisation's events may take in the store, e.g. 50GB or 500GiB; its oldest days go first, never the newest (empty: no cap)", str: &c.EventsMaxBytes},
		{flag: "events-retention", env: "VIGIL_EVENTS_RETENTION", help: "per-organisation retention overriding --events-max-age and --events-max-bytes: ODS=AGE/SIZE,… e.g. RJ1=30d/20GB,RQM=365d,R1H=/5GB (AGE may be forever)", str: &c.EventsRetentionOrgs},
		{flag: "silent-factor", env: "VIGIL_SILENT_FACTOR", help: "a log source is silent, and raises an alert, once quiet for this many times its usual interval between batches (and at least --silent-floor); 0: no silence alerts", str: &c.SilentFactor},
		{flag: "silent-floor", env: "VIGIL_SILENT_FLOOR", help: "the shortest quiet that makes a log source silent, e.g. 5m or 1h", str: &c.SilentFloor},
		{flag: "rules", env: "VIGIL_RULES", help: "Sigma rule files and directories to run on every event as it arrives, alerts going to the inbox (comma-separated; read again on SIGHUP; empty: no live detection; docs/sigma.md)", str: &c.Rules},
		{flag: "rule-pipeline", env: "VIGIL_RULE_PIPELINE", help: "Sigma processing pipelines applied to --rules before they run, for events whose fields are not named as Sigma's: built-in names (vigil, ecs) or pySigma/sigmac pipeline YAML files, comma-separated, chained by priority (read again on SIGHUP; empty: ingest's mapping alone; docs/sigma.md)", str: &c.RulePipeline},
		{flag: "gc-percent", env: "VIGIL_GC_PERCENT", help: "serve's garbage collection target, Go's GOGC: the heap may grow by this percentage of the live heap between collections (more: less CPU, more memory; GOGC in the environment wins)", integer: &c.GCPercent},
		{flag: "intel-feeds-private", env: "VIGIL_INTEL_FEEDS_PRIVATE", help: "let intelligence feeds (TAXII, MISP by URL) fetch from loopback, private and link-local addresses; off, a feed cannot reach the server's own network (docs/intel.md)", boolean: &c.IntelFeedsPrivate},
		{flag: "ioc-retro-days", env: "VIGIL_IOC_RETRO_DAYS", help: "days of stored events a newly added indicator is retro-matched against, raising ioc-retro alerts for past sightings (0: off; docs/intel.md)", integer: &c.IOCRetroDays},
		{flag: "rule-placeholders", env: "VIGIL_RULE_PLACEHOLDERS", help: "YAML file of values for Sigma rules' %placeholders% (name: [value, …])", str: &c.RulePlaceholders},
		{flag: "vuln-osv", env: "VIGIL_VULN_OSV", help: "directory of OSV advisories (JSON records, osv.dev all.zip) that stored SBOMs and inventories are matched against; an SBOM stored is matched at once (empty: only by vigil vuln match; docs/vuln.md)", str: &c.VulnOSV},
		{flag: "vuln-kev", env: "VIGIL_VULN_KEV", help: "CISA's known_exploited_vulnerabilities.json, read at each match of the stored SBOMs", str: &c.VulnKEV},
		{flag: "vuln-epss", env: "VIGIL_VULN_EPSS", help: "FIRST's daily EPSS CSV, read at each match of the stored SBOMs", str: &c.VulnEPSS},
		{flag: "vuln-sla", env: "VIGIL_VULN_SLA", help: "time to fix a finding per priority, overriding the defaults P1=3d,P2=14d,P3=30d,P4=90d (e.g. P1=48h,P2=7d)", str: &c.VulnSLA},
		{flag: "vuln-sync-interval", env: "VIGIL_VULN_SYNC_INTERVAL", help: "how often the leader fetches --vuln-sync-nvd, -kev, -epss, -csaf and -osv into --vuln-sync-dir, e.g. 6h (empty or 0: never; docs/vuln.md)", str: &c.VulnSyncInterval},
		{flag: "vuln-sync-dir", env: "VIGIL_VULN_SYNC_DIR", help: "directory of the synced vulnerability sources (default $VIGIL_CACHE_DIR/vuln-sources); its KEV and EPSS files are matched when --vuln-kev and --vuln-epss are not given", str: &c.VulnSyncDir},
		{flag: "vuln-sync-nvd", env: "VIGIL_VULN_SYNC_NVD", help: "NVD CVE API 2.0 URL to sync (https://services.nvd.nist.gov/rest/json/cves/2.0)", str: &c.VulnSyncNVD},
		{flag: "vuln-sync-kev", env: "VIGIL_VULN_SYNC_KEV", help: "CISA KEV catalogue JSON URL to sync", str: &c.VulnSyncKEV},
		{flag: "vuln-sync-epss", env: "VIGIL_VULN_SYNC_EPSS", help: "FIRST EPSS daily CSV URL to sync (.csv or .csv.gz)", str: &c.VulnSyncEPSS},
		{flag: "vuln-sync-csaf", env: "VIGIL_VULN_SYNC_CSAF", help: "CSAF provider-metadata.json URL to sync", str: &c.VulnSyncCSAF},
		{flag: "vuln-sync-osv", env: "VIGIL_VULN_SYNC_OSV", help: "base URL of osv.dev's per-ecosystem all.zip archives to sync (https://osv-vulnerabilities.storage.googleapis.com); the synced DIR/osv is matched when --vuln-osv is not given", str: &c.VulnSyncOSV},
		{flag: "vuln-sync-osv-ecosystems", env: "VIGIL_VULN_SYNC_OSV_ECOSYSTEMS", help: "comma-separated OSV ecosystems to sync, e.g. Go,npm,PyPI (empty: Go, npm, PyPI, Maven, crates.io, NuGet, RubyGems, Packagist, Debian, Alpine)", str: &c.VulnSyncOSVEcosystems},
		{flag: "nvd-api-key", env: "VIGIL_NVD_API_KEY", help: "NVD API key for --vuln-sync-nvd (prefer the environment variable)", str: &c.NVDAPIKey, secret: true},
		{flag: "analytics", env: "VIGIL_ANALYTICS", help: "YAML file of analytics run on every event (first seen, rare values, volume anomaly, impossible travel; docs/analytics.md); empty: the shipped ones; off: none", str: &c.Analytics},
		{flag: "attack", env: "VIGIL_ATTACK", help: "MITRE ATT&CK Enterprise STIX bundle (enterprise-attack.json, gzipped or not) for the ATT&CK coverage page of --rules (empty: no coverage page)", str: &c.Attack},
		{flag: "secrets-key", env: "VIGIL_SECRETS_KEY", help: "the secrets key(s) itself, 64 hexadecimal digits each, comma-separated, the first sealing (prefer the environment variable); overrides --secrets-key-file", str: &c.SecretsKey, secret: true},
		{flag: "audit-key", env: "VIGIL_AUDIT_KEY", help: "the audit chain's HMAC key itself, 64+ hexadecimal digits (prefer the environment variable); overrides --audit-key-file", str: &c.AuditKey, secret: true},
	}
}

// RegisterFlags adds every setting to fs, with its environment variable's
// value (or the default) as the flag default, so flags override the
// environment.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, s := range c.settings() {
		help := s.help + " (env " + s.env + ")"
		if s.str != nil {
			if v := getenv(s.env); v != "" {
				*s.str = v
			}
			def := *s.str
			if s.secret && def != "" {
				// pflag prints defaults in --help: keep secrets out of it.
				fs.StringVar(s.str, s.flag, def, help)
				fs.Lookup(s.flag).DefValue = "(from " + s.env + ")"
				continue
			}
			fs.StringVar(s.str, s.flag, def, help)
			continue
		}
		if s.integer != nil {
			if v := getenv(s.env); v != "" {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return fmt.Errorf("%s=%q: want a whole number", s.env, v)
				}
				*s.integer = n
			}
			fs.IntVar(s.integer, s.flag, *s.integer, help)
			continue
		}
		if v := getenv(s.env); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s=%q: want true or false", s.env, v)
			}
			*s.boolean = b
		}
		fs.BoolVar(s.boolean, s.flag, *s.boolean, help)
	}
	return nil
}

// Validate checks every setting and returns all problems at once, each
// naming its flag.
func (c *Config) Validate() error {
	var errs []error
	bad := func(flag, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: "+format, append([]any{flag}, a...)...))
	}
	if c.DataDir == "" {
		bad("data-dir", "must not be empty")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database-url", "want postgres://user@host:port/db or empty for SQLite")
		}
	}
	if c.NATSURL != "" {
		for _, one := range strings.Split(c.NATSURL, ",") {
			u, err := url.Parse(strings.TrimSpace(one))
			if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
				bad("nats", "want nats://host:port (comma-separated for a cluster) or empty for embedded")
				break
			}
		}
	}
	switch {
	case c.NATSReplicas < 1 || c.NATSReplicas > 5:
		bad("nats-replicas", "want 1 to 5 (3 for a three-server NATS cluster)")
	case c.NATSReplicas > 1 && c.NATSURL == "":
		bad("nats-replicas", "the embedded NATS server is one server: more than 1 needs --nats naming a cluster")
	}
	if err := bus.ValidatePrefix(c.NATSPrefix); err != nil {
		bad("nats-prefix", "%s", err)
	}
	if _, err := c.VulnSyncEvery(); err != nil {
		bad("vuln-sync-interval", "%v", err)
	}
	if _, err := c.LeaderLeaseDuration(); err != nil {
		bad("leader-lease", "%s", err)
	}
	if _, err := c.ExpiryNotice(); err != nil {
		bad("assurance-expiry-notice", "%s", err)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("http", "want host:port, e.g. 127.0.0.1:8080")
	}
	for _, l := range []struct{ flag, addr string }{{"syslog-udp", c.SyslogUDP}, {"syslog-tcp", c.SyslogTCP}, {"syslog-tls", c.SyslogTLS}, {"relp", c.RELP}, {"netflow", c.NetFlow}} {
		if l.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l.addr); err != nil {
			bad(l.flag, "want host:port, e.g. 0.0.0.0:6514")
		}
	}
	if c.EventsURL != "" {
		if u, err := url.Parse(c.EventsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "clickhouse") || u.Host == "" {
			bad("events-url", "want http://host:8123/?database=vigil, clickhouse://host:8123/vigil or empty")
		}
	}
	switch c.EventsStore {
	case "", "rows", "blocks":
	default:
		bad("events-store", "want rows, blocks or empty")
	}
	if c.EventsStore != "" && c.EventsURL != "" {
		bad("events-store", "events on ClickHouse (--events-url) are not kept in Vigil's database: give one or the other")
	}
	if _, err := c.EventsRetention(); err != nil {
		bad("events-max-age", "%v", err)
	}
	if _, err := ParseSize(c.EventsMaxBytes); err != nil {
		bad("events-max-bytes", "%v", err)
	}
	if _, _, err := c.EventsPolicy(); err != nil && !strings.Contains(err.Error(), "events-max-") {
		bad("events-retention", "%v", err)
	}
	if _, _, err := c.SilentSources(); err != nil {
		errs = append(errs, err)
	}
	if c.SyslogTLS != "" && (c.TLSCert == "" || c.TLSKey == "") {
		bad("syslog-tls", "needs --tls-cert and --tls-key")
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("base-url", "want http(s)://host[:port]")
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "--tls-cert and --tls-key go together")
	}
	for _, f := range []struct{ flag, path string }{{"tls-cert", c.TLSCert}, {"tls-key", c.TLSKey}, {"o365-config", c.O365Config}} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				bad(f.flag, "cannot read %s", f.path)
			}
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error", "auto":
	default:
		bad("log-level", "want debug, info, warn, error or auto")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "want text or json")
	}
	if c.GCPercent < 25 || c.GCPercent > 2000 {
		bad("gc-percent", "want a percentage from 25 to 2000, e.g. 100 (Go's default) or 400")
	}
	if c.IOCRetroDays < 0 || c.IOCRetroDays > 366 {
		bad("ioc-retro-days", "want days from 0 (off) to 366")
	}
	// One check needs 46 MiB; below that no password could be checked,
	// and above 64 GiB the number is surely a unit mistake.
	if c.PasswordHashMemoryMiB < 46 || c.PasswordHashMemoryMiB > 65536 {
		bad("password-hash-memory", "want MiB between 46 (one password check at a time) and 65536, e.g. 184 for four at once")
	}
	if c.OIDCIssuer != "" {
		if c.OIDCClientID == "" {
			bad("oidc-client-id", "required when --oidc-issuer is set")
		}
		if u, err := url.Parse(c.OIDCIssuer); err != nil || u.Host == "" {
			bad("oidc-issuer", "want the issuer's https:// URL")
		}
	}
	if k := strings.TrimSpace(c.AuditKey); k != "" {
		if b, err := hex.DecodeString(k); err != nil || len(b) < 32 {
			bad("audit-key", "want at least 64 hexadecimal digits (32 random bytes), e.g. from `openssl rand -hex 32`")
		}
	}
	return errors.Join(errs...)
}

// SecretsKeyPath is where the secrets key file is: SecretsKeyFile, or
// secrets.key in the data directory.
func (c *Config) SecretsKeyPath() string {
	if c.SecretsKeyFile != "" {
		return c.SecretsKeyFile
	}
	return filepath.Join(c.DataDir, "secrets.key")
}

// AuditKeyPath is where the audit key file is: AuditKeyFile, or
// audit.key in the data directory.
func (c *Config) AuditKeyPath() string {
	if c.AuditKeyFile != "" {
		return c.AuditKeyFile
	}
	return filepath.Join(c.DataDir, "audit.key")
}

// TLS reports whether Vigil serves HTTPS itself.
func (c *Config) TLS() bool { return c.TLSCert != "" }

// PublicURL is BaseURL or one made from the listen address.
func (c *Config) PublicURL() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	scheme := "http"
	if c.TLS() {
		scheme = "https"
	}
	host := c.HTTPAddr
	if h, p, err := net.SplitHostPort(host); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
		host = net.JoinHostPort("localhost", p)
	}
	return scheme + "://" + host
}

// AbsDataDir is DataDir made absolute, for messages.
func (c *Config) AbsDataDir() string {
	if a, err := filepath.Abs(c.DataDir); err == nil {
		return a
	}
	return c.DataDir
}

// Redacted lists every setting as name = value with secrets hidden, for
// `vigil config check` and the start-up log.
func (c *Config) Redacted() [][2]string {
	var out [][2]string
	for _, s := range c.settings() {
		var v string
		if s.str != nil {
			v = *s.str
			if s.secret && v != "" {
				v = redact(v)
			}
		} else if s.integer != nil {
			v = strconv.Itoa(*s.integer)
		} else {
			v = strconv.FormatBool(*s.boolean)
		}
		out = append(out, [2]string{s.flag, v})
	}
	return out
}

// redact hides a URL's password, or the whole value when it is not a URL
// with a user part.
func redact(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(set, hidden)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "pass") || strings.Contains(strings.ToLower(k), "secret") || strings.Contains(strings.ToLower(k), "token") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// SilentSources are SilentFactor and SilentFloor parsed: factor 0 means
// no silence alerts.
func (c *Config) SilentSources() (factor float64, floor time.Duration, err error) {
	f, perr := strconv.ParseFloat(strings.TrimSpace(c.SilentFactor), 64)
	if perr != nil || f < 0 || f > 1000 || math.IsNaN(f) {
		return 0, 0, fmt.Errorf("--silent-factor %q: want a number from 1 to 1000 such as 4, or 0 for no silence alerts", c.SilentFactor)
	}
	if f > 0 && f < 1 {
		return 0, 0, fmt.Errorf("--silent-factor %q: below 1 calls a source silent before its usual interval has passed", c.SilentFactor)
	}
	d, perr := time.ParseDuration(strings.TrimSpace(c.SilentFloor))
	if perr != nil || d < time.Minute {
		return 0, 0, fmt.Errorf("--silent-floor %q: want a duration of a minute or more, such as 5m or 1h", c.SilentFloor)
	}
	return f, d, nil
}

// RetentionLimit is one organisation's event retention: events older
// than MaxAge go, and its oldest days while it holds more than MaxBytes
// (zero: no limit).
type RetentionLimit struct {
	MaxAge   time.Duration
	MaxBytes int64
}

// EventsPolicy is the event store's retention: the default limit for
// every organisation (--events-max-age, --events-max-bytes) and the
// organisations --events-retention sets otherwise, by upper-cased ODS
// code. An override's empty part takes the default's.
func (c *Config) EventsPolicy() (def RetentionLimit, orgs map[string]RetentionLimit, err error) {
	if def.MaxAge, err = c.EventsRetention(); err != nil {
		return def, nil, fmt.Errorf("--events-max-age %w", err)
	}
	if def.MaxBytes, err = ParseSize(c.EventsMaxBytes); err != nil {
		return def, nil, fmt.Errorf("--events-max-bytes %w", err)
	}
	list := strings.TrimSpace(c.EventsRetentionOrgs)
	if list == "" {
		return def, nil, nil
	}
	orgs = map[string]RetentionLimit{}
	for i, item := range strings.Split(list, ",") {
		code, spec, ok := strings.Cut(strings.TrimSpace(item), "=")
		code = strings.ToUpper(strings.TrimSpace(code))
		if !ok || code == "" || strings.ContainsAny(code, " /") {
			return def, nil, fmt.Errorf("item %d %q: want ODS=AGE/SIZE, e.g. RJ1=30d/20GB", i+1, item)
		}
		if _, dup := orgs[code]; dup {
			return def, nil, fmt.Errorf("item %d: %s is given twice", i+1, code)
		}
		age, size, _ := strings.Cut(spec, "/")
		l := def
		if strings.TrimSpace(age) != "" {
			if l.MaxAge, err = (&Config{EventsMaxAge: age}).EventsRetention(); err != nil {
				return def, nil, fmt.Errorf("%s: age %w", code, err)
			}
		}
		if strings.TrimSpace(size) != "" {
			if l.MaxBytes, err = ParseSize(size); err != nil {
				return def, nil, fmt.Errorf("%s: size %w", code, err)
			}
		}
		orgs[code] = l
	}
	return def, orgs, nil
}

// ParseSize reads a size such as 500MB, 50GB, 2TB (powers of 1000),
// 64GiB (powers of 1024) or a number of bytes; empty is 0, no limit.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	num, mult := s, 1.0
	for _, u := range units {
		if len(s) > len(u.suffix) && strings.EqualFold(s[len(s)-len(u.suffix):], u.suffix) {
			num, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || f*mult < 1<<20 || f*mult > 1<<60 {
		return 0, fmt.Errorf("%q: want a size of at least 1MiB such as 500MB, 50GB or 64GiB", s)
	}
	return int64(f * mult), nil
}

// EventsRetention is EventsMaxAge as a duration; 0 keeps events forever.
func (c *Config) EventsRetention() (time.Duration, error) {
	s := strings.TrimSpace(c.EventsMaxAge)
	if s == "" || s == "forever" {
		return 0, nil
	}
	bad := fmt.Errorf("%q: want a number of days or weeks such as 90d or 26w, a duration such as 8760h, or forever", s)
	if n, err := strconv.Atoi(s[:len(s)-1]); err == nil && (s[len(s)-1] == 'd' || s[len(s)-1] == 'w') {
		if n <= 0 || n > 36600 {
			return 0, bad
		}
		d := time.Duration(n) * 24 * time.Hour
		if s[len(s)-1] == 'w' {
			d *= 7
		}
		return d, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Hour {
		return 0, bad
	}
	return d, nil
}

// LeaderLeaseDuration is --leader-lease, checked: at least 2 s, since
// the leader renews it a third of the way through and NATS needs a
// moment to answer.
func (c Config) LeaderLeaseDuration() (time.Duration, error) {
	d, err := time.ParseDuration(c.LeaderLease)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 15s or 1m, got %q", c.LeaderLease)
	}
	if d < 2*time.Second {
		return 0, fmt.Errorf("want at least 2s, got %s", d)
	}
	return d, nil
}

// ExpiryNotice is --assurance-expiry-notice as a duration: 1 to 366 days.
func (c Config) ExpiryNotice() (time.Duration, error) {
	s := strings.TrimSpace(c.AssuranceExpiryNotice)
	if s == "" {
		return 30 * 24 * time.Hour, nil
	}
	bad := fmt.Errorf("%q: want days or weeks from 1d to 366d, such as 30d or 6w", s)
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || (s[len(s)-1] != 'd' && s[len(s)-1] != 'w') {
		return 0, bad
	}
	if s[len(s)-1] == 'w' {
		n *= 7
	}
	if n < 1 || n > 366 {
		return 0, bad
	}
	return time.Duration(n) * 24 * time.Hour, nil
}

// VulnSyncEvery is --vuln-sync-interval, checked: 0 (never) or at least
// a minute, since NVD's rate limits make a full page take seconds.
func (c Config) VulnSyncEvery() (time.Duration, error) {
	if c.VulnSyncInterval == "" || c.VulnSyncInterval == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(c.VulnSyncInterval)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 6h or 30m, got %q", c.VulnSyncInterval)
	}
	if d < time.Minute {
		return 0, fmt.Errorf("want at least 1m, got %s", d)
	}
	return d, nil
}

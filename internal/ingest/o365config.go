package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// The Microsoft 365 / Entra ID poller's configuration file (`vigil serve
// --o365-config FILE`, docs/ingest.md "Microsoft 365 and Entra ID"):
//
//	poll_interval: 5m        # how often each tenant is polled (default 5m)
//	initial_lookback: 24h    # how far back the first poll starts (default 24h, at most 168h)
//	overlap: 15m             # each poll re-lists this much before the last end (default 15m)
//	endpoints:               # only for national clouds and tests
//	  login: https://login.microsoftonline.com
//	  manage: https://manage.office.com
//	  graph: https://graph.microsoft.com
//	tenants:
//	  - name: nhsmail                          # a label for logs and metrics
//	    tenant_id: 0b3e…-…                     # the Entra tenant (directory) ID, a GUID
//	    client_id: 6f1a…-…                     # the app registration's application ID
//	    client_secret_file: /etc/vigil/nhsmail.secret   # or client_secret_env: NAME
//	    org: X26                               # the organisation owning the events
//	    content_types: [Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All]
//	    entra: [signIns, directoryAudits]      # Entra ID logs through Microsoft Graph
//	    publisher_id: 0b3e…-…                  # PublisherIdentifier (optional; default tenant_id)
//
// The client secret is read once at start from the file or variable named
// and is never logged, printed or stored elsewhere.

// O365ContentTypes are the Office 365 Management Activity API's content
// types, in the order Microsoft lists them.
var O365ContentTypes = []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.SharePoint", "Audit.General", "DLP.All"}

// Entra ID logs read through Microsoft Graph (/v1.0/auditLogs/…).
const (
	EntraSignIns         = "signIns"
	EntraDirectoryAudits = "directoryAudits"
)

// O365 configuration defaults and limits.
const (
	DefaultO365PollInterval    = 5 * time.Minute
	DefaultO365InitialLookback = 24 * time.Hour
	DefaultO365Overlap         = 15 * time.Minute
	// o365Retention is how far back the Management Activity API lists
	// content: seven days.
	o365Retention = 7 * 24 * time.Hour
	// o365MaxWindow is the longest startTime–endTime span it accepts.
	o365MaxWindow = 24 * time.Hour
)

// Microsoft's public cloud endpoints.
const (
	DefaultO365LoginURL  = "https://login.microsoftonline.com"
	DefaultO365ManageURL = "https://manage.office.com"
	DefaultO365GraphURL  = "https://graph.microsoft.com"
)

// O365Config is a loaded, checked configuration file.
type O365Config struct {
	PollInterval    time.Duration
	InitialLookback time.Duration
	Overlap         time.Duration
	// LoginURL, ManageURL and GraphURL are the endpoints' bases, without
	// a trailing slash.
	LoginURL, ManageURL, GraphURL string
	Tenants                       []O365Tenant
}

// O365Tenant is one Microsoft 365 tenant polled with its own app
// registration.
type O365Tenant struct {
	Name         string
	TenantID     string
	ClientID     string
	Org          string
	ContentTypes []string
	Entra        []string
	PublisherID  string
	// secret is the client secret; SecretSource says where it came from
	// ("file PATH" or "env NAME"), for messages.
	secret       string
	SecretSource string
}

// String leaves the secret out, so a tenant printed with %v shows none.
func (t O365Tenant) String() string {
	return fmt.Sprintf("%s (tenant %s, app %s, org %s)", t.Name, t.TenantID, t.ClientID, t.Org)
}

type o365File struct {
	PollInterval    string `yaml:"poll_interval"`
	InitialLookback string `yaml:"initial_lookback"`
	Overlap         string `yaml:"overlap"`
	Endpoints       struct {
		Login  string `yaml:"login"`
		Manage string `yaml:"manage"`
		Graph  string `yaml:"graph"`
	} `yaml:"endpoints"`
	Tenants []o365FileTenant `yaml:"tenants"`
}

type o365FileTenant struct {
	Name             string   `yaml:"name"`
	TenantID         string   `yaml:"tenant_id"`
	ClientID         string   `yaml:"client_id"`
	ClientSecret     string   `yaml:"client_secret"`
	ClientSecretFile string   `yaml:"client_secret_file"`
	ClientSecretEnv  string   `yaml:"client_secret_env"`
	Org              string   `yaml:"org"`
	ContentTypes     []string `yaml:"content_types"`
	Entra            []string `yaml:"entra"`
	PublisherID      string   `yaml:"publisher_id"`
}

var (
	guidRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	})
	tenantNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`) })
)

// LoadO365Config reads and checks the file at path; getenv reads the
// variables client_secret_env names (os.Getenv when nil). Every error
// names the file and the field, with the tenant's line.
func LoadO365Config(path string, getenv func(string) string) (*O365Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("o365 config: %w", err)
	}
	c, err := ParseO365Config(data, getenv)
	if err != nil {
		return nil, fmt.Errorf("o365 config %s: %w", path, err)
	}
	return c, nil
}

// ParseO365Config checks a configuration file's text (see
// LoadO365Config); secret files are read relative to the working
// directory.
func ParseO365Config(data []byte, getenv func(string) string) (*O365Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var f o365File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: it needs at least one entry under tenants")
		}
		return nil, err
	}
	lines := tenantLines(&doc)
	c := &O365Config{}
	dur := func(field, s string, def, lo, hi time.Duration) (time.Duration, error) {
		if strings.TrimSpace(s) == "" {
			return def, nil
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < lo || d > hi {
			return 0, fmt.Errorf("%s: %q: want a duration from %s to %s, e.g. %s", field, s, lo, hi, def)
		}
		return d, nil
	}
	var err error
	if c.PollInterval, err = dur("poll_interval", f.PollInterval, DefaultO365PollInterval, time.Second, 24*time.Hour); err != nil {
		return nil, err
	}
	if c.InitialLookback, err = dur("initial_lookback", f.InitialLookback, DefaultO365InitialLookback, time.Minute, o365Retention); err != nil {
		return nil, err
	}
	if c.Overlap, err = dur("overlap", f.Overlap, DefaultO365Overlap, 0, 12*time.Hour); err != nil {
		return nil, err
	}
	base := func(field, s, def string) (string, error) {
		if strings.TrimSpace(s) == "" {
			return def, nil
		}
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return "", fmt.Errorf("endpoints.%s: %q: want https://host[/path], e.g. %s", field, s, def)
		}
		return strings.TrimRight(u.String(), "/"), nil
	}
	if c.LoginURL, err = base("login", f.Endpoints.Login, DefaultO365LoginURL); err != nil {
		return nil, err
	}
	if c.ManageURL, err = base("manage", f.Endpoints.Manage, DefaultO365ManageURL); err != nil {
		return nil, err
	}
	if c.GraphURL, err = base("graph", f.Endpoints.Graph, DefaultO365GraphURL); err != nil {
		return nil, err
	}
	if len(f.Tenants) == 0 {
		return nil, errors.New("tenants: none configured; add at least one (tenant_id, client_id, client_secret_file, org)")
	}
	names := map[string]int{}
	ids := map[string]int{}
	for i, ft := range f.Tenants {
		where := fmt.Sprintf("tenants[%d]", i)
		if i < len(lines) {
			where += fmt.Sprintf(" (line %d)", lines[i])
		}
		t, err := checkO365Tenant(where, ft, getenv)
		if err != nil {
			return nil, err
		}
		if j, dup := names[t.Name]; dup {
			return nil, fmt.Errorf("%s.name: %q is also tenants[%d]'s name", where, t.Name, j)
		}
		if j, dup := ids[t.TenantID]; dup {
			return nil, fmt.Errorf("%s.tenant_id: %s is also tenants[%d]'s: one entry per tenant, listing all its content types", where, t.TenantID, j)
		}
		names[t.Name], ids[t.TenantID] = i, i
		c.Tenants = append(c.Tenants, t)
	}
	return c, nil
}

// tenantLines returns the line of each entry under tenants.
func tenantLines(doc *yaml.Node) []int {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "tenants" && m.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, n := range m.Content[i+1].Content {
				out = append(out, n.Line)
			}
			return out
		}
	}
	return nil
}

func checkO365Tenant(where string, ft o365FileTenant, getenv func(string) string) (O365Tenant, error) {
	t := O365Tenant{
		Name: strings.TrimSpace(ft.Name), TenantID: strings.ToLower(strings.TrimSpace(ft.TenantID)),
		ClientID: strings.TrimSpace(ft.ClientID), PublisherID: strings.ToLower(strings.TrimSpace(ft.PublisherID)),
	}
	if !tenantNameRe().MatchString(t.Name) {
		return t, fmt.Errorf("%s.name: %q: want a short label of lower-case letters, digits, '-' or '_', e.g. nhsmail", where, ft.Name)
	}
	if !guidRe().MatchString(t.TenantID) {
		return t, fmt.Errorf("%s.tenant_id: %q is not a GUID: use the directory (tenant) ID from the Entra admin centre, not a domain name", where, ft.TenantID)
	}
	if !guidRe().MatchString(t.ClientID) {
		return t, fmt.Errorf("%s.client_id: %q is not a GUID: use the app registration's application (client) ID", where, ft.ClientID)
	}
	if t.PublisherID == "" {
		t.PublisherID = t.TenantID
	} else if !guidRe().MatchString(t.PublisherID) {
		return t, fmt.Errorf("%s.publisher_id: %q is not a GUID", where, ft.PublisherID)
	}
	org := strings.ToUpper(strings.TrimSpace(ft.Org))
	if !orgCode().MatchString(org) {
		return t, fmt.Errorf("%s.org: %q is not an organisation code (an ODS code such as X26)", where, ft.Org)
	}
	t.Org = org
	// A secret written in the file itself would end up in backups and
	// version control: refuse it and say where it should go.
	if ft.ClientSecret != "" {
		return t, fmt.Errorf("%s.client_secret: the secret must not be in this file; put it in a file readable only by Vigil (client_secret_file) or a variable (client_secret_env)", where)
	}
	switch {
	case ft.ClientSecretFile != "" && ft.ClientSecretEnv != "":
		return t, fmt.Errorf("%s: client_secret_file and client_secret_env are both set; keep one", where)
	case ft.ClientSecretFile != "":
		b, err := os.ReadFile(ft.ClientSecretFile)
		if err != nil {
			return t, fmt.Errorf("%s.client_secret_file: cannot read the secret: %w", where, err)
		}
		t.secret, t.SecretSource = strings.TrimSpace(string(b)), "file "+ft.ClientSecretFile
		if t.secret == "" {
			return t, fmt.Errorf("%s.client_secret_file: %s is empty", where, ft.ClientSecretFile)
		}
	case ft.ClientSecretEnv != "":
		t.secret, t.SecretSource = strings.TrimSpace(getenv(ft.ClientSecretEnv)), "env "+ft.ClientSecretEnv
		if t.secret == "" {
			return t, fmt.Errorf("%s.client_secret_env: the variable %s is not set or empty", where, ft.ClientSecretEnv)
		}
	default:
		return t, fmt.Errorf("%s: no client secret: set client_secret_file (a file holding the app's client secret) or client_secret_env", where)
	}
	seen := map[string]bool{}
	for j, ct := range ft.ContentTypes {
		canon := ""
		for _, known := range O365ContentTypes {
			if strings.EqualFold(strings.TrimSpace(ct), known) {
				canon = known
			}
		}
		if canon == "" {
			return t, fmt.Errorf("%s.content_types[%d]: %q is not a content type; want one of %s", where, j, ct, strings.Join(O365ContentTypes, ", "))
		}
		if !seen[canon] {
			seen[canon] = true
			t.ContentTypes = append(t.ContentTypes, canon)
		}
	}
	for j, e := range ft.Entra {
		var canon string
		switch strings.ToLower(strings.TrimSpace(e)) {
		case "signins":
			canon = EntraSignIns
		case "directoryaudits":
			canon = EntraDirectoryAudits
		default:
			return t, fmt.Errorf("%s.entra[%d]: %q: want signIns or directoryAudits", where, j, e)
		}
		if !seen[canon] {
			seen[canon] = true
			t.Entra = append(t.Entra, canon)
		}
	}
	if len(t.ContentTypes) == 0 && len(t.Entra) == 0 {
		return t, fmt.Errorf("%s: nothing to poll: list content_types (%s) and/or entra (signIns, directoryAudits)", where, strings.Join(O365ContentTypes, ", "))
	}
	return t, nil
}

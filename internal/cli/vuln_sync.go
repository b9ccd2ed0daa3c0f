package cli

import (
	"github.com/spf13/cobra"

	"github.com/vigil-health/vigil/internal/vuln"
)

// vulnSyncCmd is `vigil vuln sync`: NVD, KEV, EPSS and CSAF fetched into
// a directory the scan and the server read (vuln.Sync; docs/vuln.md).
func (e *env) vulnSyncCmd() *cobra.Command {
	var o vuln.SyncOptions
	var out *output
	c := &cobra.Command{
		Use:   "sync [--dir DIR] [--nvd URL] [--kev URL] [--epss URL] [--csaf URL] [--osv URL [--osv-ecosystems Go,npm,...]]",
		Short: "Fetch NVD, CISA KEV, FIRST EPSS, CSAF and OSV advisories into a directory for scans and matching",
		Long: `Fetch vulnerability sources over the network into DIR (default $VIGIL_CACHE_DIR/vuln-sources,
else ~/.cache/vigil/vuln-sources), laid out as the offline readers take them:

  DIR/nvd            --nvd for vigil vuln scan (one API 2.0 page per CVE)
  DIR/kev/known_exploited_vulnerabilities.json   --kev
  DIR/epss/epss_scores.csv                        --epss
  DIR/csaf           --csaf
  DIR/osv            --db (--osv) for vigil vuln scan: DIR/osv/<Ecosystem>/all.zip

--nvd is the NVD CVE API 2.0 endpoint (https://services.nvd.nist.gov/rest/json/cves/2.0).
The first sync pages through every CVE; later ones ask only for what was modified since
(lastModStartDate/lastModEndDate, 120 days a request at most). The API key is read from
$VIGIL_NVD_API_KEY and sent as the apiKey header; requests are spaced 6 s apart without a key
and 0.6 s with one (NVD's limits), and a 403, 429 or 5xx is tried again twice. A sync that
stops (network, ^C) goes on from the page it reached.

--kev is CISA's known_exploited_vulnerabilities.json URL; --epss FIRST's daily CSV
(https://epss.empiricalsecurity.com/epss_scores-current.csv.gz, gzipped or not). Both are
fetched with If-None-Match/If-Modified-Since.

--csaf is a provider's provider-metadata.json: its ROLIE feeds and directory distributions
(changes.csv) are read, and each new or changed document is fetched, checked against its
.sha512 (else .sha256) file and read as a CSAF document before it is stored. When the
metadata names public_openpgp_keys (checked against their fingerprints), each document must
also carry a good detached OpenPGP signature (.asc) by one of them.

--osv is the base of osv.dev's per-ecosystem archives
(https://osv-vulnerabilities.storage.googleapis.com): URL/<Ecosystem>/all.zip is fetched for
each of --osv-ecosystems (default Go,npm,PyPI,Maven,crates.io,NuGet,RubyGems,Packagist,Debian,
Alpine) with If-None-Match/If-Modified-Since, streamed to a temporary file, and put in place
only when the archive opens and every entry reads as an OSV record.

Every response is checked the way a scan reads it before anything is replaced: a bad one is
an error naming the source, URL and field, and the previous good copy stays. Progress goes
to stderr; the exit status is 1 if any source failed.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.NVD+o.KEV+o.EPSS+o.CSAF+o.OSV == "" {
				return usagef("name at least one source: --nvd, --kev, --epss, --csaf or --osv")
			}
			if len(o.OSVEcosystems) > 0 && o.OSV == "" {
				return usagef("--osv-ecosystems needs --osv URL")
			}
			o.NVDAPIKey = e.getenv("VIGIL_NVD_API_KEY")
			o.Progress = e.stderr
			rep, err := vuln.Sync(c.Context(), o)
			perr := e.result(out, rep, func() error {
				w := newTable(e.stdout)
				w.header("SOURCE", "FETCHED", "STORED", "UNCHANGED", "ERRORS")
				for _, s := range []struct {
					name string
					url  string
					r    vuln.SourceReport
				}{{"nvd", o.NVD, rep.NVD}, {"kev", o.KEV, rep.KEV}, {"epss", o.EPSS, rep.EPSS}, {"csaf", o.CSAF, rep.CSAF}, {"osv", o.OSV, rep.OSV}} {
					if s.url != "" {
						w.row(s.name, s.r.Fetched, s.r.Stored, s.r.Unchanged, len(s.r.Errors))
					}
				}
				return w.flush()
			})
			if err != nil {
				return err
			}
			return perr
		},
	}
	c.Flags().StringVar(&o.Dir, "dir", "", "directory of the synced sources (default $VIGIL_CACHE_DIR/vuln-sources)")
	c.Flags().StringVar(&o.NVD, "nvd", "", "NVD CVE API 2.0 URL")
	c.Flags().StringVar(&o.KEV, "kev", "", "CISA KEV catalogue JSON URL")
	c.Flags().StringVar(&o.EPSS, "epss", "", "FIRST EPSS daily CSV URL (.csv or .csv.gz)")
	c.Flags().StringVar(&o.CSAF, "csaf", "", "CSAF provider-metadata.json URL")
	c.Flags().StringVar(&o.OSV, "osv", "", "base URL of osv.dev's per-ecosystem all.zip archives")
	c.Flags().StringSliceVar(&o.OSVEcosystems, "osv-ecosystems", nil, "OSV ecosystems to fetch with --osv, e.g. Go,npm,PyPI")
	out = formatFlag(c, "table", "json")
	return c
}

package vuln

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// CSAF 2.0 distribution (OASIS CSAF 2.0 §7): a provider publishes
// provider-metadata.json, whose distributions are ROLIE feeds (Atom in
// JSON, an entry per document with links to it, its hash and its
// signature) or a directory with changes.csv (each document's path and
// when it last changed), each document beside its .sha256/.sha512 file.

// CSAFProviderMetadata is the part of provider-metadata.json a sync reads.
type CSAFProviderMetadata struct {
	CanonicalURL  string `json:"canonical_url"`
	Distributions []struct {
		DirectoryURL string `json:"directory_url"`
		ROLIE        *struct {
			Feeds []struct {
				URL      string `json:"url"`
				TLPLabel string `json:"tlp_label"`
			} `json:"feeds"`
		} `json:"rolie"`
	} `json:"distributions"`
	Publisher struct {
		Name string `json:"name"`
	} `json:"publisher"`
	PublicOpenPGPKeys []struct {
		Fingerprint string `json:"fingerprint"`
		URL         string `json:"url"`
	} `json:"public_openpgp_keys"`
}

// ParseProviderMetadata reads provider-metadata.json; it must name at
// least one distribution.
func ParseProviderMetadata(name string, b []byte) (*CSAFProviderMetadata, error) {
	var m CSAFProviderMetadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, positioned(b, err))
	}
	if len(m.Distributions) == 0 {
		return nil, fmt.Errorf("%s: distributions: none (is it a CSAF provider-metadata.json?)", name)
	}
	for i, d := range m.Distributions {
		if d.DirectoryURL == "" && (d.ROLIE == nil || len(d.ROLIE.Feeds) == 0) {
			return nil, fmt.Errorf("%s: distributions[%d]: neither directory_url nor rolie.feeds", name, i)
		}
	}
	return &m, nil
}

// CSAFEntry is one document a distribution lists.
type CSAFEntry struct {
	URL string
	// Updated is when the provider last changed it (RFC 3339).
	Updated string
	// Hashes are the URLs of its hash files, SHA-512 first.
	Hashes []string
	// Signature is the URL of its detached OpenPGP signature.
	Signature string
	// Where names the entry in errors ("feed.json: feed.entry[3]").
	Where string
}

// ParseROLIEFeed reads a ROLIE feed (CSAF 2.0 §7.1.20): every entry's
// document (link rel "self", else content.src), its "hash" links and
// its updated time, resolved against base.
func ParseROLIEFeed(name, base string, b []byte) ([]CSAFEntry, error) {
	var f struct {
		Feed *struct {
			Entry []struct {
				ID      string `json:"id"`
				Updated string `json:"updated"`
				Link    []struct {
					Rel  string `json:"rel"`
					Href string `json:"href"`
				} `json:"link"`
				Content struct {
					Src string `json:"src"`
				} `json:"content"`
			} `json:"entry"`
		} `json:"feed"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, positioned(b, err))
	}
	if f.Feed == nil {
		return nil, fmt.Errorf("%s: no feed object (is it a ROLIE feed?)", name)
	}
	var out []CSAFEntry
	for i, e := range f.Feed.Entry {
		where := fmt.Sprintf("%s: feed.entry[%d]", name, i)
		ent := CSAFEntry{Updated: e.Updated, Where: where}
		doc := e.Content.Src
		for _, l := range e.Link {
			switch l.Rel {
			case "self":
				doc = l.Href
			case "hash":
				ent.Hashes = append(ent.Hashes, l.Href)
			case "signature":
				ent.Signature = l.Href
			}
		}
		if doc == "" {
			return nil, fmt.Errorf("%s: no link with rel \"self\" and no content.src", where)
		}
		u, err := resolve(base, doc)
		if err != nil {
			return nil, fmt.Errorf("%s: link: %w", where, err)
		}
		ent.URL = u
		for j, h := range ent.Hashes {
			if ent.Hashes[j], err = resolve(base, h); err != nil {
				return nil, fmt.Errorf("%s: hash link: %w", where, err)
			}
		}
		if ent.Signature == "" {
			ent.Signature = u + ".asc"
		} else if ent.Signature, err = resolve(base, ent.Signature); err != nil {
			return nil, fmt.Errorf("%s: signature link: %w", where, err)
		}
		// SHA-512 before SHA-256: the stronger is checked when both are
		// given.
		sort.SliceStable(ent.Hashes, func(a, b int) bool {
			return strings.HasSuffix(ent.Hashes[a], ".sha512") && !strings.HasSuffix(ent.Hashes[b], ".sha512")
		})
		out = append(out, ent)
	}
	return out, nil
}

// ParseChangesCSV reads a directory distribution's changes.csv (CSAF 2.0
// §7.1.13): lines of "path","time", newest first. Documents are resolved
// against the directory URL base; each is expected beside its .sha512
// or .sha256 file.
func ParseChangesCSV(name, base string, b []byte) ([]CSAFEntry, error) {
	r := csv.NewReader(strings.NewReader(string(b)))
	r.FieldsPerRecord = 2
	var out []CSAFEntry
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		where := fmt.Sprintf("%s line %d", name, line)
		p := strings.TrimSpace(rec[0])
		if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "..") || strings.Contains(p, "://") {
			return nil, fmt.Errorf("%s: path %q: not a relative path inside the directory", where, p)
		}
		if _, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[1])); err != nil {
			return nil, fmt.Errorf("%s: time %q: not an RFC 3339 time", where, rec[1])
		}
		u, err := resolve(strings.TrimSuffix(base, "/")+"/", p)
		if err != nil {
			return nil, fmt.Errorf("%s: path: %w", where, err)
		}
		out = append(out, CSAFEntry{URL: u, Updated: strings.TrimSpace(rec[1]), Hashes: []string{u + ".sha512", u + ".sha256"},
			Signature: u + ".asc", Where: where})
	}
	return out, nil
}

func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(r)
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("%q is not an http(s) URL", ref)
	}
	return u.String(), nil
}

// ParseHashFile reads a .sha256/.sha512 file as sha256sum writes it
// ("<hex>  <file name>", or the hex alone) and checks the digest's length.
func ParseHashFile(name string, b []byte, size int) ([]byte, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return nil, fmt.Errorf("%s: empty", name)
	}
	d, err := hex.DecodeString(strings.ToLower(f[0]))
	if err != nil || len(d) != size {
		return nil, fmt.Errorf("%s: %q is not a %d-bit hex digest", name, snippet([]byte(f[0])), size*8)
	}
	return d, nil
}

// csafState remembers, per document URL, the updated time of the copy
// stored, so a sync fetches only what changed since.
type csafState struct {
	URL  string            `json:"url"`
	Docs map[string]string `json:"docs"`
}

var safeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9._-]+`) })

func (s *syncer) syncCSAF(ctx context.Context, u string, r *SourceReport) error {
	_, _, _, dir := SyncedPaths(s.o.Dir)
	pu, err := url.Parse(u)
	if err != nil {
		return err
	}
	host := safeName().ReplaceAllString(pu.Host, "_")
	statePath := filepath.Join(dir, host+".state")
	var st csafState
	if err := readState(statePath, &st); err != nil {
		return err
	}
	if st.URL != u || st.Docs == nil {
		st = csafState{URL: u, Docs: map[string]string{}}
	}
	res, err := s.get(ctx, u, nil)
	if err != nil {
		return err
	}
	r.Fetched++
	meta, err := ParseProviderMetadata(redactURL(u), res.body)
	if err != nil {
		return err
	}
	var entries []CSAFEntry
	for _, d := range meta.Distributions {
		if d.ROLIE != nil {
			for _, f := range d.ROLIE.Feeds {
				fu, err := resolve(u, f.URL)
				if err != nil {
					return fmt.Errorf("%s: rolie feed: %w", redactURL(u), err)
				}
				fr, err := s.get(ctx, fu, nil)
				if err != nil {
					return err
				}
				r.Fetched++
				es, err := ParseROLIEFeed(redactURL(fu), fu, fr.body)
				if err != nil {
					return err
				}
				entries = append(entries, es...)
			}
		}
		if d.DirectoryURL != "" {
			du, err := resolve(u, d.DirectoryURL)
			if err != nil {
				return fmt.Errorf("%s: directory_url: %w", redactURL(u), err)
			}
			cu := strings.TrimSuffix(du, "/") + "/changes.csv"
			cr, err := s.get(ctx, cu, nil)
			if err != nil {
				return err
			}
			r.Fetched++
			es, err := ParseChangesCSV(redactURL(cu), du, cr.body)
			if err != nil {
				return err
			}
			entries = append(entries, es...)
		}
	}
	keys, err := s.csafKeys(ctx, u, meta)
	if err != nil {
		return err
	}
	if keys == nil {
		s.progress("CSAF: %s names no public_openpgp_keys: documents are checked by hash only", redactURL(u))
	}
	s.progress("CSAF: %s (%s) lists %d documents", redactURL(u), meta.Publisher.Name, len(entries))
	seen := map[string]bool{}
	var errs []error
	for _, e := range entries {
		if seen[e.URL] {
			continue
		}
		seen[e.URL] = true
		dst := filepath.Join(dir, host, safeName().ReplaceAllString(path.Base(e.URL), "_"))
		if st.Docs[e.URL] == e.Updated && e.Updated != "" && fileExists(dst) {
			r.Unchanged++
			continue
		}
		if err := s.csafDocument(ctx, e, dst, keys); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Stored++
		st.Docs[e.URL] = e.Updated
		if err := writeState(statePath, st); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d documents not stored (their previous copies are kept): %w", len(errs), len(seen), errors.Join(errs...))
	}
	return nil
}

// csafDocument fetches one document, checks it against its hash file
// and reads it as LoadCSAF does before storing it.
func (s *syncer) csafDocument(ctx context.Context, e CSAFEntry, dst string, keys openpgp.EntityList) error {
	doc, err := s.get(ctx, e.URL, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Where, err)
	}
	if !strings.HasSuffix(strings.ToLower(path.Base(e.URL)), ".json") {
		return fmt.Errorf("%s: %s: a CSAF document's name ends in .json", e.Where, redactURL(e.URL))
	}
	checked := ""
	for _, hu := range e.Hashes {
		hr, err := s.get(ctx, hu, nil)
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusNotFound {
			continue // the other algorithm's file may be there
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e.Where, err)
		}
		var h hash.Hash
		switch {
		case strings.HasSuffix(hu, ".sha512"):
			h = sha512.New()
		case strings.HasSuffix(hu, ".sha256"):
			h = sha256.New()
		default:
			return fmt.Errorf("%s: hash link %s: neither .sha256 nor .sha512", e.Where, redactURL(hu))
		}
		want, err := ParseHashFile(redactURL(hu), hr.body, h.Size())
		if err != nil {
			return fmt.Errorf("%s: %w", e.Where, err)
		}
		h.Write(doc.body)
		if got := h.Sum(nil); !equalBytes(got, want) {
			return fmt.Errorf("%s: %s: %s mismatch: the document's is %x, %s says %x; not stored",
				e.Where, redactURL(e.URL), path.Ext(hu)[1:], got, path.Base(hu), want)
		}
		checked = path.Ext(hu)[1:]
		break
	}
	if checked == "" {
		return fmt.Errorf("%s: %s: no .sha512 or .sha256 file: not stored unchecked", e.Where, redactURL(e.URL))
	}
	if keys != nil {
		sig, err := s.get(ctx, e.Signature, nil)
		if err != nil {
			return fmt.Errorf("%s: signature: %w; not stored", e.Where, err)
		}
		if _, err := openpgp.CheckArmoredDetachedSignature(keys, bytes.NewReader(doc.body), bytes.NewReader(sig.body), nil); err != nil {
			return fmt.Errorf("%s: %s: OpenPGP signature %s: %w; not stored", e.Where, redactURL(e.URL), path.Base(e.Signature), err)
		}
		checked += " and signature"
	}
	if _, err := ParseCSAF(redactURL(e.URL), doc.body); err != nil {
		return fmt.Errorf("%s: %w", e.Where, err)
	}
	if err := writeAtomic(dst, doc.body); err != nil {
		return err
	}
	s.progress("CSAF: %s stored (%s checked)", redactURL(e.URL), checked)
	return nil
}

// csafKeys fetches the provider's public_openpgp_keys, each checked
// against the fingerprint the metadata gives; nil when it gives none.
func (s *syncer) csafKeys(ctx context.Context, metaURL string, meta *CSAFProviderMetadata) (openpgp.EntityList, error) {
	var keys openpgp.EntityList
	for i, k := range meta.PublicOpenPGPKeys {
		where := fmt.Sprintf("%s: public_openpgp_keys[%d]", redactURL(metaURL), i)
		ku, err := resolve(metaURL, k.URL)
		if err != nil {
			return nil, fmt.Errorf("%s: url: %w", where, err)
		}
		res, err := s.get(ctx, ku, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(res.body))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", where, redactURL(ku), err)
		}
		want := strings.ToUpper(strings.ReplaceAll(k.Fingerprint, " ", ""))
		found := false
		for _, e := range el {
			if e.PrimaryKey != nil && strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint)) == want {
				keys = append(keys, e)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: the key at %s is not the one with fingerprint %q", where, redactURL(ku), k.Fingerprint)
		}
	}
	return keys, nil
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

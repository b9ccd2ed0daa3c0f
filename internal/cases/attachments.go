package cases

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/fault"
	"github.com/vigil-health/vigil/internal/safetext"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store"
)

// Evidence attachments. The rules:
//
//   - Files are kept in the database (one backup holds evidence and its
//     custody; several servers share no disk), at most Options.MaxAttachment
//     bytes each (25 MiB by default), with their SHA-256.
//   - Only the types in attachmentTypes are accepted, by extension. HTML,
//     SVG, scripts and executables are refused: a sample of malicious code
//     goes in a password-protected archive (.zip, .7z).
//   - The type a file is served with comes from that table, never from the
//     uploader, and is never one a browser runs (no text/html, no SVG);
//     the API serves every download as an attachment (Content-Disposition:
//     attachment), with nosniff and a sandboxing Content-Security-Policy.
//   - Every upload and download is a chain-of-custody entry (who, when,
//     from where, the hash) and an audit entry; custody is listed with the
//     case.

// attachmentTypes maps the accepted extensions to the Content-Type a
// download carries.
var attachmentTypes = map[string]string{
	".txt": "text/plain; charset=utf-8", ".log": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8",
	".csv": "text/csv; charset=utf-8", ".json": "application/json", ".xml": "text/plain; charset=utf-8",
	".yaml": "text/plain; charset=utf-8", ".yml": "text/plain; charset=utf-8", ".har": "application/json",
	".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".eml": "message/rfc822", ".msg": "application/vnd.ms-outlook", ".mbox": "application/mbox",
	".pcap": "application/vnd.tcpdump.pcap", ".pcapng": "application/octet-stream", ".evtx": "application/octet-stream",
	".zip": "application/zip", ".7z": "application/x-7z-compressed", ".gz": "application/gzip", ".tgz": "application/gzip",
	".tar": "application/x-tar", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text", ".ods": "application/vnd.oasis.opendocument.spreadsheet",
	".rtf": "application/rtf",
}

// AttachmentExtensions lists the accepted extensions.
func AttachmentExtensions() []string { return slices.Sorted(maps.Keys(attachmentTypes)) }

// Attachment is an evidence file of a case (without its bytes).
type Attachment struct {
	ID          string    `json:"id"`
	CaseID      string    `json:"case_id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	By          string    `json:"by"`
	CreatedAt   time.Time `json:"created_at"`
}

// Custody is one entry of an attachment's chain of custody.
type Custody struct {
	ID     string    `json:"id"`
	Action string    `json:"action"`
	SHA256 string    `json:"sha256"`
	By     string    `json:"by"`
	Remote string    `json:"remote,omitempty"`
	Note   string    `json:"note,omitempty"`
	At     time.Time `json:"at"`
}

// checkAttachmentName returns the file name to keep (its last path
// element) and the type it will be served with.
func checkAttachmentName(name string) (string, string, error) {
	name = strings.TrimSpace(path.Base(strings.ReplaceAll(name, `\`, "/")))
	if name == "" || name == "." || name == "/" {
		return "", "", fault.Invalidf("file", "needs a file name")
	}
	if p := safetext.Problem(name, safetext.Name, safetext.MaxName); p != "" {
		return "", "", fault.Invalidf("file", "name %s", p)
	}
	ext := strings.ToLower(path.Ext(name))
	ct, ok := attachmentTypes[ext]
	if !ok {
		return "", "", fault.Invalidf("file", "%q is not a type accepted as evidence (accepted: %s); put samples of malicious files in a password-protected .zip or .7z",
			name, strings.Join(AttachmentExtensions(), " "))
	}
	return name, ct, nil
}

// AddAttachment stores an evidence file read from r in a case sc may
// change, with its hash and a chain-of-custody entry.
func (s *Service) AddAttachment(ctx context.Context, sc scope.Scope, caseID, name string, r io.Reader) (Attachment, error) {
	name, ct, err := checkAttachmentName(name)
	if err != nil {
		return Attachment{}, err
	}
	// Check the case before reading the body, so nobody learns a limit
	// or stores bytes for a case they cannot see.
	if _, _, err := s.loadCase(ctx, s.db.Q(), sc, caseID, ""); err != nil {
		return Attachment{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, s.opts.MaxAttachment+1))
	if err != nil {
		return Attachment{}, fault.Invalidf("file", "could not be read: %v", err)
	}
	if int64(len(data)) > s.opts.MaxAttachment {
		return Attachment{}, fault.Invalidf("file", "is larger than %s, the most one attachment may be", sizeText(s.opts.MaxAttachment))
	}
	if len(data) == 0 {
		return Attachment{}, fault.Invalidf("file", "is empty")
	}
	sum := sha256.Sum256(data)
	now := s.now()
	a := Attachment{ID: newID(prefixAttachment, now), CaseID: caseID, Name: name, ContentType: ct, Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), By: actorName(sc), CreatedAt: now}
	_, err = s.changeCase(ctx, sc, caseID, func(tx *store.Tx, c *Case, path string) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_attachments (id, case_id, name, content_type, size, sha256, data, by_id, by_name, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, c.ID, a.Name, a.ContentType, a.Size, a.SHA256, data, sc.UserID, a.By, ts(now)); err != nil {
			return fmt.Errorf("cases: store attachment: %w", err)
		}
		if err := s.custody(ctx, tx, sc, c, a, "upload", ""); err != nil {
			return err
		}
		if _, err := s.addTimeline(ctx, tx, sc, c.ID, timelineEntry{kind: "attachment.added", title: "Evidence added: " + a.Name, ref: a.ID,
			body: "SHA-256 " + a.SHA256}); err != nil {
			return err
		}
		return touch(ctx, tx, c, now)
	})
	if err != nil {
		return Attachment{}, err
	}
	return a, nil
}

// custody records one chain-of-custody entry and its audit entry.
func (s *Service) custody(ctx context.Context, tx *store.Tx, sc scope.Scope, c *Case, a Attachment, action, note string) error {
	now := s.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO case_custody (id, attachment_id, case_id, action, sha256, by_id, by_name, remote, note, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, newID(prefixCustody, now), a.ID, c.ID, action, a.SHA256, sc.UserID, actorName(sc), sc.Remote, note, ts(now)); err != nil {
		return fmt.Errorf("cases: custody: %w", err)
	}
	_, err := s.audit.Append(ctx, tx, sc, audit.Change{Action: "case.attachment." + action, ObjectType: "attachment", ObjectID: a.ID, Org: c.Org,
		After: map[string]any{"case": c.ID, "name": a.Name, "sha256": a.SHA256, "size": a.Size}})
	return err
}

const attachmentCols = `id, case_id, name, content_type, size, sha256, by_name, created_at`

func scanAttachment(r scanner) (Attachment, error) {
	var a Attachment
	var at string
	err := r.Scan(&a.ID, &a.CaseID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.By, &at)
	a.CreatedAt = parseTS(at)
	return a, err
}

// ListAttachments lists a case's evidence (without the bytes).
func (s *Service) ListAttachments(ctx context.Context, sc scope.Scope, caseID string) ([]Attachment, error) {
	q := s.db.Q()
	if _, _, err := s.loadCase(ctx, q, sc, caseID, ""); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, q, `SELECT `+attachmentCols+` FROM case_attachments WHERE case_id = ? ORDER BY id`, scanAttachment, caseID)
	if out == nil && err == nil {
		out = []Attachment{}
	}
	return out, err
}

// OpenAttachment returns an evidence file of a case sc may read and
// records the download in its chain of custody (and the audit log) before
// returning the bytes, which it checks against the stored hash.
func (s *Service) OpenAttachment(ctx context.Context, sc scope.Scope, caseID, id string) (Attachment, []byte, error) {
	if !validID(prefixAttachment, id) {
		return Attachment{}, nil, notFound("attachment", id)
	}
	var a Attachment
	var data []byte
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, _, err := s.loadCase(ctx, tx, sc, caseID, "")
		if err != nil {
			return err
		}
		row := tx.QueryRowContext(ctx, `SELECT `+attachmentCols+`, data FROM case_attachments WHERE id = ? AND case_id = ?`, id, c.ID)
		var at string
		err = row.Scan(&a.ID, &a.CaseID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.By, &at, &data)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("attachment", id)
		}
		if err != nil {
			return fmt.Errorf("cases: read attachment %s: %w", id, err)
		}
		a.CreatedAt = parseTS(at)
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != a.SHA256 {
			// Recorded, then refused: evidence that no longer matches its
			// hash must not be handed out as if it did.
			s.log.Error("attachment hash mismatch", "attachment", a.ID, "case", c.ID)
			return fmt.Errorf("cases: attachment %s no longer matches its SHA-256", a.ID)
		}
		return s.custody(ctx, tx, sc, &c, a, "download", "")
	})
	if err != nil {
		return Attachment{}, nil, err
	}
	return a, data, nil
}

// CustodyOf returns an attachment's chain of custody, oldest first.
func (s *Service) CustodyOf(ctx context.Context, sc scope.Scope, caseID, id string) ([]Custody, error) {
	q := s.db.Q()
	if _, _, err := s.loadCase(ctx, q, sc, caseID, ""); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, q, `SELECT id, action, sha256, by_name, remote, note, at FROM case_custody WHERE attachment_id = ? AND case_id = ? ORDER BY id`,
		func(r scanner) (Custody, error) {
			var c Custody
			var at string
			err := r.Scan(&c.ID, &c.Action, &c.SHA256, &c.By, &c.Remote, &c.Note, &at)
			c.At = parseTS(at)
			return c, err
		}, id, caseID)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound("attachment", id)
	}
	return out, nil
}

// sizeText says a limit in bytes as people read it: "25 MiB", "512 KiB".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

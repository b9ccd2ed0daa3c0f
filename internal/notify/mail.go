package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP is how e-mail leaves Vigil.
type SMTP struct {
	// Addr is host:port of the submission server; empty sends no e-mail.
	Addr string
	// From is the sender address, e.g. "Vigil <vigil@soc.nhs.uk>".
	From string
	// User and Password authenticate (AUTH PLAIN, only over TLS or to
	// localhost); both empty for none. The password is never logged.
	User     string
	Password string
	// StartTLS is "required" (the default: refuse to send in clear),
	// "opportunistic" (use it when offered) or "off".
	StartTLS string
	// Roots, when set, are the CAs the server's certificate is checked
	// against (tests); the system's otherwise.
	Roots *x509.CertPool
	// Timeout bounds a connection and its conversation (default 30 s).
	Timeout time.Duration
}

// StartTLSModes lists the --smtp-starttls choices.
func StartTLSModes() []string { return []string{"required", "opportunistic", "off"} }

// Validate checks the settings, naming the flag at fault.
func (m SMTP) Validate() error {
	if m.Addr == "" {
		return nil
	}
	var errs []error
	host, port, err := net.SplitHostPort(m.Addr)
	if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p <= 0 || p > 65535 {
		errs = append(errs, errors.New("--smtp-addr: want host:port, e.g. smtp.nhs.net:587"))
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		errs = append(errs, errors.New("--smtp-from: want an address such as \"Vigil <vigil@example.nhs.uk>\", required with --smtp-addr"))
	}
	if (m.User == "") != (m.Password == "") {
		errs = append(errs, errors.New("--smtp-user and --smtp-password go together"))
	}
	switch m.StartTLS {
	case "", "required", "opportunistic", "off":
	default:
		errs = append(errs, fmt.Errorf("--smtp-starttls: want %s", strings.Join(StartTLSModes(), ", ")))
	}
	return errors.Join(errs...)
}

// mailer sends one message at a time over a fresh connection: notices are
// rare (people's actions, not alerts), and a pooled connection would only
// go stale between them.
type mailer struct {
	cfg  SMTP
	host string
	port int
}

func newMailer(cfg SMTP) *mailer {
	if cfg.Addr == "" {
		return nil
	}
	host, port, _ := net.SplitHostPort(cfg.Addr) // Validate checked it
	p, _ := strconv.Atoi(port)
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &mailer{cfg: cfg, host: host, port: p}
}

// message is one e-mail.
type message struct {
	To, Subject, Body string
	// ID becomes the Message-ID, so a receiver can tell a resend.
	ID string
}

// permanentError is a failure retrying will not mend (the server refused
// the recipient for good).
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

func (m *mailer) send(ctx context.Context, msg message) error {
	policy := gomail.TLSMandatory
	switch m.cfg.StartTLS {
	case "opportunistic":
		policy = gomail.TLSOpportunistic
	case "off":
		policy = gomail.NoTLS
	}
	// WithTLSPolicy, not WithTLSPortPolicy: the latter picks a port of
	// its own and falls back to port 25 in clear.
	opts := []gomail.Option{gomail.WithPort(m.port), gomail.WithTLSPolicy(policy), gomail.WithTimeout(m.cfg.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: m.host, RootCAs: m.cfg.Roots, MinVersion: tls.VersionTLS12})}
	if m.cfg.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(m.cfg.User), gomail.WithPassword(m.cfg.Password))
	}
	c, err := gomail.NewClient(m.host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	em := gomail.NewMsg()
	if err := em.From(m.cfg.From); err != nil {
		return &permanentError{fmt.Errorf("from %q: %w", m.cfg.From, err)}
	}
	if err := em.To(msg.To); err != nil {
		return &permanentError{fmt.Errorf("to %q: %w", msg.To, err)}
	}
	// A case title is someone's text: no line breaks in a header.
	em.Subject(strings.Join(strings.Fields(msg.Subject), " "))
	if msg.ID != "" {
		em.SetMessageIDWithValue(msg.ID)
	}
	em.SetDate()
	em.SetBodyString(gomail.TypeTextPlain, msg.Body)
	if err := c.DialAndSendWithContext(ctx, em); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.Reason == gomail.ErrSMTPRcptTo {
			return &permanentError{fmt.Errorf("smtp %s: %w", m.cfg.Addr, err)}
		}
		return fmt.Errorf("smtp %s: %w", m.cfg.Addr, err)
	}
	return nil
}

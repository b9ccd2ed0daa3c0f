// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp)
// in the test process and keeps what it receives, for tests of e-mail.
package smtptest

import (
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message the server accepted.
type Mail struct {
	From string
	To   []string
	Data string
	// User is who authenticated, "" for nobody.
	User string
}

// Subject is the message's decoded Subject header.
func (m Mail) Subject() string {
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		return ""
	}
	s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return msg.Header.Get("Subject")
	}
	return s
}

// Text is the message's body, decoded from quoted-printable when it is.
func (m Mail) Text() string {
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		return m.Data
	}
	var r io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return m.Data
	}
	return string(b)
}

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	Addr string
	// User and Password, when set, are required (AUTH PLAIN).
	User, Password string

	mu     sync.Mutex
	mails  []Mail
	arrive chan struct{}
	// fail makes RCPT answer a temporary failure while true.
	fail bool
}

// Run starts a server for the test, stopped at its end. With user set,
// mail is refused until the client authenticates with user and password.
func Run(t testing.TB, user, password string) *Server {
	t.Helper()
	s := &Server{User: user, Password: password, arrive: make(chan struct{}, 1000)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.AllowInsecureAuth = true // loopback, and the client refuses PLAIN in clear elsewhere
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }() // returns when closed below
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// SetFailing makes the server refuse recipients with a temporary error
// (451) while on is true.
func (s *Server) SetFailing(on bool) {
	s.mu.Lock()
	s.fail = on
	s.mu.Unlock()
}

// Mails returns what arrived so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait waits up to d for at least n messages and returns what arrived.
func (s *Server) Wait(n int, d time.Duration) []Mail {
	deadline := time.After(d)
	for {
		if m := s.Mails(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrive:
		case <-deadline:
			return s.Mails()
		}
	}
}

// To returns the messages sent to addr.
func (s *Server) To(addr string) []Mail {
	var out []Mail
	for _, m := range s.Mails() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				out = append(out, m)
			}
		}
	}
	return out
}

type session struct {
	s    *Server
	user string
	from string
	to   []string
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if se.s.User == "" || username != se.s.User || password != se.s.Password {
			return errors.New("invalid username or password")
		}
		se.user = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.User != "" && se.user == "" {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.s.mu.Lock()
	fail := se.s.fail
	se.s.mu.Unlock()
	if fail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.s.mu.Lock()
	se.s.mails = append(se.s.mails, Mail{From: se.from, To: se.to, Data: string(b), User: se.user})
	se.s.mu.Unlock()
	select {
	case se.s.arrive <- struct{}{}:
	default:
	}
	return nil
}

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

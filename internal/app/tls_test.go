package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/config"
	"github.com/vigil-health/vigil/internal/events"
	"github.com/vigil-health/vigil/internal/ingest"
	"github.com/vigil-health/vigil/internal/scope"
)

// selfSigned writes a certificate for 127.0.0.1 and returns the files and a
// pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSHeadersAndCookies: under TLS Vigil sends HSTS and its cookies are
// Secure and __Host- prefixed.
func TestTLSHeadersAndCookies(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.LogLevel = "warn"
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	s, err := Start(context.Background(), cfg, NewLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := c.Get("https://" + s.Addr + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if h := res.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=") {
		t.Errorf("no HSTS under TLS: %q", h)
	}
	for _, ck := range res.Cookies() {
		if !ck.Secure || !strings.HasPrefix(ck.Name, "__Host-") || !ck.HttpOnly {
			t.Errorf("cookie %s: secure=%v httponly=%v; want Secure, HttpOnly and the __Host- prefix", ck.Name, ck.Secure, ck.HttpOnly)
		}
	}
	if len(res.Cookies()) == 0 {
		t.Error("the sign-in form sets no CSRF cookie")
	}
}

// TestSyslogTLSThroughServe: --syslog-tls serves syslog over TLS with the
// same certificate as HTTPS, and a message sent over it is stored (the
// certificate is for HTTPS too, so one without the other must work —
// TestTLSHeadersAndCookies).
func TestSyslogTLSThroughServe(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	s := startWith(t, func(c *config.Config) {
		c.TLSCert, c.TLSKey, c.SyslogTLS = certFile, keyFile, "127.0.0.1:0"
	})
	conn, err := tls.Dial("tcp", s.Ingest.Addrs()[ingest.ListenerSyslogTLS].String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	msg := "<34>1 " + time.Now().UTC().Format(time.RFC3339) + " web1 sshd 7 - - vigil-tls-serve Failed password for admin"
	if _, err := fmt.Fprintf(conn, "%d %s", len(msg), msg); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := s.Events.Count(context.Background(), scope.System("test"), events.Query{Text: "vigil-tls-serve", Since: time.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events stored from syslog over TLS, want 1", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

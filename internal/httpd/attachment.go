package httpd

import (
	"mime"
	"net/http"
	"strconv"
)

// SendAttachment writes a file that no browser renders in place: always an
// attachment, under a sandboxing CSP, never sniffed or cached.
func SendAttachment(w http.ResponseWriter, name, contentType string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data) // a failed write: the client has gone
}

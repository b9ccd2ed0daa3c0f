package taxii

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
)

// memWriter is a Writer kept in memory: collection "rw" may be read and
// written, "ro" only read.
type memWriter struct {
	mu       sync.Mutex
	statuses map[string]Status
}

func (m *memWriter) Collections(ctx context.Context, r *http.Request, root string) ([]Collection, error) {
	return []Collection{{ID: "rw", Title: "RW", CanRead: true, CanWrite: true}, {ID: "ro", Title: "RO", CanRead: true}}, nil
}

func (m *memWriter) Objects(ctx context.Context, r *http.Request, root, collection string, q intel.Query) (intel.Page, error) {
	return intel.Page{}, nil
}

func (m *memWriter) Add(ctx context.Context, r *http.Request, root, collection, statusID string, objs []*stix.Object) (AddResult, error) {
	return AddResult{}, nil
}

func (m *memWriter) SaveStatus(ctx context.Context, r *http.Request, root string, st Status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.statuses[st.ID] = st
	return nil
}

func (m *memWriter) Status(ctx context.Context, r *http.Request, root, id string) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.statuses[id]
	if !ok {
		return Status{}, intel.ErrStatusNotFound
	}
	return st, nil
}

func memServer(t testing.TB) *Server {
	s, err := New(Options{Title: "T", Roots: []APIRoot{{Name: "r", Title: "R", MaxContentLength: 1 << 16}}, Source: &memWriter{statuses: map[string]Status{}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func post(s *Server, collection, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/taxii2/r/collections/"+collection+"/objects/", strings.NewReader(body))
	req.Header.Set("Accept", MediaTAXII)
	req.Header.Set("Content-Type", MediaTAXII)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

// TestPostReadOnly: a collection the caller sees but may not write is 403.
func TestPostReadOnly(t *testing.T) {
	o, _ := stix.NewSCO("url", map[string]any{"value": "http://x.example/"})
	b, _ := json.Marshal(map[string]any{"objects": []*stix.Object{o}})
	s := memServer(t)
	if w := post(s, "ro", string(b)); w.Code != 403 {
		t.Errorf("read-only collection: %d %s", w.Code, w.Body)
	}
	if w := post(s, "rw", string(b)); w.Code != 202 {
		t.Errorf("writable collection: %d %s", w.Code, w.Body)
	}
}

// FuzzPostObjects: any envelope gets 202, 400, 413 or 422, never a
// panic or a 500, and a 202's counts add up to its objects.
func FuzzPostObjects(f *testing.F) {
	o, _ := stix.NewSCO("url", map[string]any{"value": "http://x.example/"})
	good, _ := json.Marshal(map[string]any{"objects": []*stix.Object{o}})
	for _, seed := range []string{string(good), `{"objects":[]}`, `{"objects":[{}]}`, `{"objects":[null,1,"x"]}`, `{"objects":{}}`, `[]`, `null`, ``, `{`,
		`{"objects":[{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","spec_version":"2.1"}]}`} {
		f.Add(seed)
	}
	s := memServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		w := post(s, "rw", body)
		switch w.Code {
		case 202:
			var st Status
			if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.SuccessCount+st.FailureCount != st.TotalCount || st.TotalCount == 0 {
				t.Fatalf("202 with %s (%v)", w.Body, err)
			}
		case 400, 413, 422:
		default:
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
	})
}

package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vigil-health/vigil/internal/intel"
	"github.com/vigil-health/vigil/internal/intel/stix"
	"github.com/vigil-health/vigil/internal/scope"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// BenchmarkGet10k is the figure: 10,000 objects read over HTTP in
// pages of 1,000 by next (< 2 s in all), from SQLite.
func BenchmarkGet10k(b *testing.B) {
	db := storetest.SQLite(b, intel.Migrations())
	st, _ := intel.New(intel.Options{DB: db})
	objs := make([]*stix.Object, 10000)
	for i := range objs {
		objs[i], _ = stix.NewSCO("ipv4-addr", map[string]any{"value": fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256)})
	}
	if _, err := st.Import(context.Background(), scope.System("bench"), "bench", objs); err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Title: "bench", Roots: []APIRoot{{Name: "r", Title: "r"}}, Source: oneCollection{st}})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	base := hs.URL + "/taxii2/r/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/?limit=1000"
	for b.Loop() {
		n, url := 0, base
		for {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Accept", MediaTAXII)
			resp, err := hs.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var env struct {
				More    bool
				Next    string
				Objects []json.RawMessage
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err := json.Unmarshal(body, &env); err != nil {
				b.Fatal(err)
			}
			n += len(env.Objects)
			if !env.More {
				break
			}
			url = base + "&next=" + env.Next
		}
		if n != 10000 {
			b.Fatalf("%d objects", n)
		}
	}
}

package supplyviz

import (
	"bytes"
	"strings"
	"testing"
)

// TestRateChart: the step chart names every point's figures in its
// tooltip and description, marks a time not yet passed as "so far", and
// prints to SVG and PNG; Beside puts two scenes side by side, moved.
func TestRateChart(t *testing.T) {
	s := RateChart([]RatePoint{{Hours: 12, Count: 1, Rate: 0.25, Elapsed: true}, {Hours: 48, Count: 3, Rate: 0.75, Elapsed: true},
		{Hours: 168, Count: 3, Rate: 0.75}}, RateOptions{Title: "Acknowledged over time", Of: 4, ClockHours: 48})
	for _, want := range []string{"Within 12 hours: 1 of 4 (25 %)", "Within 48 hours: 3 of 4 (75 %)", "Within 168 hours: 3 of 4 (75 % so far)"} {
		if !strings.Contains(s.Desc, want) {
			t.Errorf("desc %q lacks %q", s.Desc, want)
		}
	}
	var svg, png bytes.Buffer
	if err := WriteSVG(&svg, s, SVGOptions{}); err != nil || !strings.Contains(svg.String(), "48-hour clock") || strings.Count(svg.String(), `class="rate-point"`) != 3 {
		t.Fatalf("svg: %v\n%s", err, svg.String())
	}
	if err := WritePNG(&png, s, 1); err != nil {
		t.Fatal(err)
	}
	b := Beside("both", 10, s, nil, s)
	if b.Width != 2*s.Width+10 || b.Height != s.Height || len(b.Items) != 2*len(s.Items) {
		t.Fatalf("beside: %vx%v, %d items", b.Width, b.Height, len(b.Items))
	}
	if r, ok := b.Items[len(s.Items)].(*Text); !ok || r.X != s.Items[0].(*Text).X+s.Width+10 {
		t.Errorf("the second scene is not moved: %+v", b.Items[len(s.Items)])
	}
	if Beside("none", 10, nil) != nil {
		t.Error("Beside of nothing")
	}
}

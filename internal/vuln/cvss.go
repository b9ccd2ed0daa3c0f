package vuln

import (
	"errors"
	"fmt"
	"strings"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// CVSS is a vector with the score and severity computed from it (never
// copied from the advisory's text, which can disagree with its vector).
type CVSS struct {
	Vector string `json:"vector"`
	// Version is "3.0", "3.1" or "4.0", from the vector's prefix.
	Version string `json:"version"`
	// Score is the v3 base score, or the v4 score of the metrics the
	// vector gives (CVSS-B, -BT, -BE or -BTE, as FIRST names them).
	Score float64 `json:"score"`
	// Severity is the rating of Score: NONE, LOW, MEDIUM, HIGH, CRITICAL.
	Severity string `json:"severity"`
}

// ErrCVSSVersion is a vector of a CVSS version not scored here (v2 has
// no "CVSS:" prefix).
var ErrCVSSVersion = errors.New("not a CVSS 3.0, 3.1 or 4.0 vector")

// ScoreCVSS parses a CVSS v3.0, v3.1 or v4.0 vector with pandatix/go-cvss
// and computes its score and severity.
func ScoreCVSS(vector string) (CVSS, error) {
	c := CVSS{Vector: vector}
	switch {
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		v, err := gocvss30.ParseVector(vector)
		if err != nil {
			return c, fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		c.Version, c.Score = "3.0", v.BaseScore()
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		v, err := gocvss31.ParseVector(vector)
		if err != nil {
			return c, fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		c.Version, c.Score = "3.1", v.BaseScore()
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		v, err := gocvss40.ParseVector(vector)
		if err != nil {
			return c, fmt.Errorf("CVSS vector %q: %w", vector, err)
		}
		c.Version, c.Score = "4.0", v.Score()
	default:
		return c, fmt.Errorf("CVSS vector %q: %w", vector, ErrCVSSVersion)
	}
	// The v3 and v4 ratings are the same bands (v3.1 spec §5, v4.0 §6).
	sev, err := gocvss31.Rating(c.Score)
	if err != nil {
		return c, fmt.Errorf("CVSS vector %q: score %v: %w", vector, c.Score, err)
	}
	c.Severity = sev
	return c, nil
}

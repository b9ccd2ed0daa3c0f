package stix

// TLP is a Traffic Light Protocol level, ordered from the most to the
// least shareable. TLP 1.0's WHITE is CLEAR, and 1.0 has no AMBER+STRICT.
type TLP int

// The TLP levels, in increasing restriction.
const (
	TLPClear TLP = iota + 1
	TLPGreen
	TLPAmber
	TLPAmberStrict
	TLPRed
)

var tlpNames = map[TLP]string{TLPClear: "CLEAR", TLPGreen: "GREEN", TLPAmber: "AMBER", TLPAmberStrict: "AMBER+STRICT", TLPRed: "RED"}

func (t TLP) String() string {
	if n, ok := tlpNames[t]; ok {
		return "TLP:" + n
	}
	return "TLP:unknown"
}

// ParseTLP reads "RED", "tlp:amber+strict", "white" (TLP 1.0) and the like.
func ParseTLP(s string) (TLP, bool) {
	u := s
	if len(u) > 4 && (u[:4] == "TLP:" || u[:4] == "tlp:") {
		u = u[4:]
	}
	for t, n := range tlpNames {
		if equalFoldASCII(u, n) {
			return t, true
		}
	}
	if equalFoldASCII(u, "WHITE") {
		return TLPClear, true
	}
	return 0, false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 32
		}
		if 'a' <= y && y <= 'z' {
			y -= 32
		}
		if x != y {
			return false
		}
	}
	return true
}

// The marking-definition ids of TLP 1.0, predefined by STIX 2.1 section
// 7.2.1.4, and of TLP 2.0, defined by the OASIS TLP 2.0 extension
// (extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d).
const (
	TLP1White = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	TLP1Green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	TLP1Amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	TLP1Red   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"

	TLP2Clear       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	TLP2Green       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	TLP2Amber       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	TLP2AmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	TLP2Red         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

	// TLP2Extension is the TLP 2.0 extension definition.
	TLP2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
)

var tlpByID = map[string]TLP{
	TLP1White: TLPClear, TLP1Green: TLPGreen, TLP1Amber: TLPAmber, TLP1Red: TLPRed,
	TLP2Clear: TLPClear, TLP2Green: TLPGreen, TLP2Amber: TLPAmber, TLP2AmberStrict: TLPAmberStrict, TLP2Red: TLPRed,
}

// TLPOf returns the TLP level a marking-definition id stands for.
func TLPOf(markingID string) (TLP, bool) {
	t, ok := tlpByID[markingID]
	return t, ok
}

// TLP2ID returns the TLP 2.0 marking-definition id of a level.
func TLP2ID(t TLP) string {
	for id, l := range tlpByID {
		if l == t && (id == TLP2Clear || id == TLP2Green || id == TLP2Amber || id == TLP2AmberStrict || id == TLP2Red) {
			return id
		}
	}
	return ""
}

// TLPOfObject is the most restrictive TLP among an object's
// object_marking_refs; ok is false when it carries no TLP marking.
func TLPOfObject(o *Object) (TLP, bool) {
	var max TLP
	for _, r := range o.MarkingRefs {
		if t, ok := TLPOf(r); ok && t > max {
			max = t
		}
	}
	return max, max != 0
}

// PAP is a Permissible Actions Protocol level (FIRST PAP): what a
// recipient may do with the information. Ordered like TLP, from the
// least to the most restrictive. STIX 2.1 predefines no PAP markings;
// Vigil writes each as a statement marking definition named "PAP:RED"
// with a fixed id (PAPID), which MISP's PAP:* tags map to and from.
type PAP int

// The PAP levels.
const (
	PAPClear PAP = iota + 1
	PAPGreen
	PAPAmber
	PAPRed
)

var papNames = map[PAP]string{PAPClear: "CLEAR", PAPGreen: "GREEN", PAPAmber: "AMBER", PAPRed: "RED"}

func (p PAP) String() string {
	if n, ok := papNames[p]; ok {
		return "PAP:" + n
	}
	return "PAP:unknown"
}

// ParsePAP reads "RED", "PAP:amber", "WHITE" (the old name of CLEAR).
func ParsePAP(s string) (PAP, bool) {
	if len(s) > 4 && equalFoldASCII(s[:4], "PAP:") {
		s = s[4:]
	}
	for p, n := range papNames {
		if equalFoldASCII(s, n) {
			return p, true
		}
	}
	if equalFoldASCII(s, "WHITE") {
		return PAPClear, true
	}
	return 0, false
}

// The marking-definition ids Vigil gives the PAP levels.
var papIDs = map[PAP]string{
	PAPClear: "marking-definition--1d3ddd4f-5d1a-5b9e-9f2b-6c1e0d0a7c01",
	PAPGreen: "marking-definition--1d3ddd4f-5d1a-5b9e-9f2b-6c1e0d0a7c02",
	PAPAmber: "marking-definition--1d3ddd4f-5d1a-5b9e-9f2b-6c1e0d0a7c03",
	PAPRed:   "marking-definition--1d3ddd4f-5d1a-5b9e-9f2b-6c1e0d0a7c04",
}

// PAPID is the marking-definition id of a PAP level.
func PAPID(p PAP) string { return papIDs[p] }

// PAPOf returns the PAP level a marking-definition id stands for.
func PAPOf(markingID string) (PAP, bool) {
	for p, id := range papIDs {
		if id == markingID {
			return p, true
		}
	}
	return 0, false
}

// PAPOfObject is the most restrictive PAP among an object's markings.
func PAPOfObject(o *Object) (PAP, bool) {
	var max PAP
	for _, r := range o.MarkingRefs {
		if p, ok := PAPOf(r); ok && p > max {
			max = p
		}
	}
	return max, max != 0
}

package org_test

import (
	"testing"

	"github.com/vigil-health/vigil/internal/org"
)

// Names as the ODS extracts publish them, and as people should read them.
func TestReadableName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", "Guy's and St Thomas' NHS Foundation Trust"},
		{"KING'S COLLEGE HOSPITAL NHS FOUNDATION TRUST", "King's College Hospital NHS Foundation Trust"},
		{"THE NEWCASTLE UPON TYNE HOSPITALS NHS FOUNDATION TRUST", "The Newcastle upon Tyne Hospitals NHS Foundation Trust"},
		{"NHS SOUTH EAST LONDON ICB - 72Q", "NHS South East London ICB - 72Q"},
		{"NHS STAFFORDSHIRE AND STOKE-ON-TRENT ICB - 05V", "NHS Staffordshire and Stoke-on-Trent ICB - 05V"},
		{"WESTON AREA HEALTH NHS TRUST", "Weston Area Health NHS Trust"},
		{"COUNTESS OF CHESTER HOSPITAL NHS FOUNDATION TRUST", "Countess of Chester Hospital NHS Foundation Trust"},
		{"BIRMINGHAM AND SOLIHULL MENTAL HEALTH NHS FOUNDATION TRUST", "Birmingham and Solihull Mental Health NHS Foundation Trust"},
		{"DR LHF WALTON'S PRACTICE", "Dr LHF Walton's Practice"},
		{"ST. ANNE'S SURGERY", "St. Anne's Surgery"},
		{"O'BRIEN MEDICAL CENTRE", "O'Brien Medical Centre"},
		{"MCKENZIE HOUSE SURGERY", "McKenzie House Surgery"},
		{"HMP BRIXTON", "HMP Brixton"},
		{"1ST CHOICE GP SURGERY", "1st Choice GP Surgery"},
		{"NHS NORTH WEST LONDON CCG (CLOSED)", "NHS North West London CCG (Closed)"},
		{"UK HEALTH SECURITY AGENCY", "UK Health Security Agency"},
		{"THE OLD SCHOOL SURGERY", "The Old School Surgery"},
		{"WELSH AMBULANCE SERVICES NHS TRUST", "Welsh Ambulance Services NHS Trust"},
		{"ACCIDENT&EMERGENCY DEPARTMENT", "Accident&Emergency Department"},
		{"SOUTHEND-ON-SEA HEALTH CENTRE", "Southend-on-Sea Health Centre"},
		{"WESTON-SUPER-MARE MEDICAL PRACTICE", "Weston-super-Mare Medical Practice"},
		{"ACME CLINICAL SYSTEMS LTD", "Acme Clinical Systems Ltd"},
		// Names already in mixed case (the ONS files) are kept as published.
		{"NHS Greater Manchester Integrated Care Board", "NHS Greater Manchester Integrated Care Board"},
		{"London", "London"},
		{"", ""},
	} {
		if got := org.ReadableName(c.in); got != c.want {
			t.Errorf("ReadableName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

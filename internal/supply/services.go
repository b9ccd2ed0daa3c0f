package supply

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// serviceLabels name the business services the register knows, for
// people; ServiceLabel falls back to a readable form of any other slug.
var serviceLabels = map[string]string{
	"111":                  "NHS 111",
	"999":                  "999 and ambulance dispatch",
	"analytics":            "Analytics",
	"asset-management":     "Asset management",
	"backup":               "Backup",
	"booking":              "Appointment booking",
	"catering":             "Catering",
	"cctv":                 "CCTV",
	"clinical-coding":      "Clinical coding",
	"dictation":            "Dictation",
	"document-management":  "Document management",
	"e-prescribing":        "E-prescribing",
	"email":                "Email",
	"endpoint-management":  "Endpoint management",
	"epr":                  "Electronic patient record",
	"facilities":           "Facilities",
	"finance":              "Finance",
	"gp-clinical":          "GP clinical system",
	"hr":                   "HR",
	"identity":             "Identity and sign-in",
	"integration":          "Integration",
	"intranet":             "Intranet",
	"learning":             "Learning",
	"messaging":            "Messaging",
	"network":              "Network",
	"pacs":                 "PACS (imaging)",
	"pathology":            "Pathology",
	"patient-portal":       "Patient portal",
	"payroll":              "Payroll",
	"pharmacy-stock":       "Pharmacy stock",
	"print":                "Printing",
	"procurement":          "Procurement",
	"radiology":            "Radiology",
	"records-storage":      "Records storage",
	"referrals":            "Referrals",
	"remote-access":        "Remote access",
	"rostering":            "Rostering",
	"security-monitoring":  "Security monitoring",
	"telephony":            "Telephony",
	"translation":          "Translation",
	"transport":            "Patient transport",
	"video-consultation":   "Video consultation",
	"waste":                "Waste",
	"wifi":                 "Wi-Fi",
	"community-care":       "Community care records",
	"mental-health":        "Mental health records",
	"maternity":            "Maternity",
	"ehr":                  "Electronic health record",
	"shared-care-record":   "Shared care record",
	"laboratory":           "Laboratory",
	"medicines-management": "Medicines management",
}

// ServiceLabel names a business service for people: "GP clinical system"
// for gp-clinical, and for a service not in the table its slug in words
// ("records-storage" → "Records storage").
func ServiceLabel(slug string) string {
	if l, ok := serviceLabels[slug]; ok {
		return l
	}
	s := strings.TrimSpace(strings.ReplaceAll(slug, "-", " "))
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return slug
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

package org

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ReadableName turns a name published in capitals — as every ODS extract
// publishes them ("GUY'S AND ST THOMAS' NHS FOUNDATION TRUST") — into the
// way the NHS writes it ("Guy's and St Thomas' NHS Foundation Trust"), so
// that every page shows names in one case style whichever file they came
// from. A name that already has a lower-case letter (the ONS lookups, a
// name typed by a person) is returned unchanged: its casing is someone's
// choice.
//
// Each word is capitalised, with these exceptions:
//   - NHS acronyms and other abbreviations stay in capitals (NHS, ICB, GP,
//     CCG, UK, PCN, HMP, …), as does a word with no vowel (initials such as
//     "LHF", which no rule could spell out) and a single letter;
//   - a few abbreviations have a fixed spelling (Dr, St, Ltd, Mr, Mrs);
//   - "and", "of", "the", "upon", … are lower case except as the first
//     word, and "on", "super", "le" … too inside a hyphenated place name
//     (Stoke-on-Trent, Weston-super-Mare);
//   - a possessive stays lower case after its apostrophe (Guy's), an Irish
//     or French prefix does not (O'Brien, D'Arcy), and Mc takes a capital
//     after it (McKenzie);
//   - a word with digits is a code (72Q) and is kept, except ordinals (1st).
func ReadableName(s string) string {
	if s == "" || strings.IndexFunc(s, unicode.IsLower) >= 0 || strings.IndexFunc(s, unicode.IsUpper) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	first := true // the next word starts the name (or a bracket)
	var prev rune // the character before the current word
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			b.WriteRune(r)
			if r == '(' {
				first = true
			}
			prev = r
			i += n
			continue
		}
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if isWordRune(r) {
				j += n
				continue
			}
			// An apostrophe inside a word (GUY'S, O'BRIEN) belongs to it;
			// a closing one (THOMAS') does not.
			if r == '\'' || r == '’' {
				if next, _ := utf8.DecodeRuneInString(s[j+n:]); isWordRune(next) {
					j += n
					continue
				}
			}
			break
		}
		next, _ := utf8.DecodeRuneInString(s[j:])
		b.WriteString(caseWord(s[i:j], first, prev == '-' || next == '-'))
		first = false
		i = j
	}
	return b.String()
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// acronyms stay in capitals. Words with no vowel (NHS, GP, CCG, HMP, MSK)
// stay so anyway; these are the ones with a vowel, or listed for clarity.
var acronyms = map[string]bool{
	"NHS": true, "ICB": true, "ICS": true, "GP": true, "GPS": true, "CCG": true, "UK": true, "PCN": true, "PCT": true,
	"CIC": true, "LLP": true, "PLC": true, "HMP": true, "HMYOI": true, "YOI": true, "IRC": true, "SARC": true,
	"UTC": true, "WIC": true, "OOH": true, "MIU": true, "CAMHS": true, "IAPT": true, "ENT": true, "HIV": true,
	"GUM": true, "CSU": true, "SHA": true, "NHSE": true, "NHSBT": true, "IOW": true, "UCL": true, "UCLH": true,
	"ADHD": true, "COPD": true, "BMI": true, "GPSI": true, "AQP": true, "UCC": true, "IUC": true, "CAS": true,
	"CATS": true, "EMIS": true, "ELFT": true, "EPUT": true, "BSOL": true, "CYP": true, "DHU": true, "LARC": true,
	"HUC": true, "KCA": true, "NE": true, "SE": true, "EA": true,
	"II": true, "III": true, "IV": true, "VI": true, "VII": true, "VIII": true, "IX": true, "XI": true,
}

// fixed are abbreviations with their own spelling.
var fixed = map[string]string{
	"DR": "Dr", "DRS": "Drs", "RD": "Rd", "ST": "St", "LTD": "Ltd", "MR": "Mr", "MRS": "Mrs", "MS": "Ms", "CWM": "Cwm", "BMJ": "BMJ",
}

// minor are lower case except as the first word.
var minor = map[string]bool{
	"and": true, "of": true, "the": true, "for": true, "in": true, "at": true, "by": true, "with": true,
	"upon": true, "to": true, "on": true, "an": true,
}

// minorInPlace are lower case inside a hyphenated place name as well.
var minorInPlace = map[string]bool{
	"on": true, "upon": true, "super": true, "le": true, "la": true, "en": true, "under": true, "in": true,
	"by": true, "the": true, "de": true, "next": true, "cum": true,
}

func caseWord(w string, first, hyphenated bool) string {
	if strings.IndexFunc(w, unicode.IsDigit) >= 0 {
		return ordinal(w)
	}
	if acronyms[w] {
		return w
	}
	if f, ok := fixed[w]; ok {
		return f
	}
	lower := strings.ToLower(w)
	if !first && (minor[lower] || hyphenated && minorInPlace[lower]) {
		return lower
	}
	if utf8.RuneCountInString(w) == 1 || !strings.ContainsAny(lower, "aeiouy") {
		return w
	}
	out := []rune(lower)
	out[0] = unicode.ToUpper(out[0])
	for k := 1; k+1 < len(out); k++ {
		if out[k] != '\'' && out[k] != '’' {
			continue
		}
		// O'Brien, D'Arcy, L'Estrange: a one-letter prefix; Guy's is not.
		if k == 1 {
			out[k+1] = unicode.ToUpper(out[k+1])
		}
	}
	if len(out) > 3 && out[0] == 'M' && out[1] == 'c' && unicode.IsLetter(out[2]) {
		out[2] = unicode.ToUpper(out[2])
	}
	return string(out)
}

// ordinal writes 1ST as 1st; other words with digits are codes, kept as
// published.
func ordinal(w string) string {
	d := strings.TrimLeftFunc(w, unicode.IsDigit)
	if d != w && d != "" {
		switch d {
		case "ST", "ND", "RD", "TH":
			return w[:len(w)-len(d)] + strings.ToLower(d)
		}
	}
	return w
}

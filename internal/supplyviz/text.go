package supplyviz

import (
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The Go fonts (BSD licence, part of golang.org/x/image) are embedded so
// the PNG printer needs no installed fonts. They are parsed once; a parsed
// sfnt.Font is read-only and safe to share, given a Buffer per goroutine.
var fonts = sync.OnceValue(func() [2]*sfnt.Font {
	r, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		panic("supplyviz: embedded Go Regular font: " + err.Error())
	}
	b, err := sfnt.Parse(gobold.TTF)
	if err != nil {
		panic("supplyviz: embedded Go Bold font: " + err.Error())
	}
	return [2]*sfnt.Font{r, b}
})

func fontFor(bold bool) *sfnt.Font {
	f := fonts()
	if bold {
		return f[1]
	}
	return f[0]
}

// sfntBuffers are scratch space for font look-ups (an sfnt.Buffer is not
// safe to share between goroutines; pictures are drawn concurrently).
var sfntBuffers = sync.Pool{New: func() any { return new(sfnt.Buffer) }}

// textWidth is the advance width of s at size (scene units), without kerning.
func textWidth(s string, size float64, bold bool) float64 {
	f := fontFor(bold)
	b := sfntBuffers.Get().(*sfnt.Buffer)
	defer sfntBuffers.Put(b)
	// At ppem = units per em the advances come back in font units, exactly.
	em := fixed.Int26_6(f.UnitsPerEm())
	var w fixed.Int26_6
	for _, r := range s {
		i, err := f.GlyphIndex(b, r)
		if err != nil {
			continue
		}
		a, err := f.GlyphAdvance(b, i, em, font.HintingNone)
		if err != nil {
			continue
		}
		w += a
	}
	return float64(w) / float64(em) * size
}

// fit shortens s with an ellipsis until it is at most max wide.
func fit(s string, size float64, bold bool, max float64) string {
	if textWidth(s, size, bold) <= max {
		return s
	}
	ell := textWidth("…", size, bold)
	rs := []rune(s)
	// Binary search the longest prefix that fits with the ellipsis.
	lo, hi := 0, len(rs)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if textWidth(string(rs[:mid]), size, bold)+ell <= max {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for lo > 0 && rs[lo-1] == ' ' {
		lo--
	}
	return string(rs[:lo]) + "…"
}

// wrap breaks s into at most lines lines of at most max width, shortening
// the last with an ellipsis.
func wrap(s string, size float64, bold bool, max float64, lines int) []string {
	var out []string
	var cur []rune
	word := func(i int) (string, int) {
		j := i
		for j < len(s) && s[j] != ' ' {
			_, n := utf8.DecodeRuneInString(s[j:])
			j += n
		}
		return s[i:j], j
	}
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		w, j := word(i)
		try := w
		if len(cur) > 0 {
			try = string(cur) + " " + w
		}
		if textWidth(try, size, bold) <= max || len(cur) == 0 {
			cur = []rune(try)
			i = j
			continue
		}
		if len(out) == lines-1 {
			break
		}
		out = append(out, string(cur))
		cur = nil
	}
	if len(cur) > 0 {
		if i < len(s) { // more text did not fit
			out = append(out, fit(string(cur)+" "+s[i:], size, bold, max))
		} else {
			out = append(out, fit(string(cur), size, bold, max))
		}
	}
	return out
}

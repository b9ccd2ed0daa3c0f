package events

// SQLite 3.54's own conversions between doubles and decimal text, ported
// from its C source (util.c sqlite3FpDecode, sqlite3Fp2Convert10,
// sqlite3Fp10Convert2, sqlite3AtoF; printf.c "%!.17g"; vdbemem.c
// vdbeMemRenderNum), so that match.go reads and writes numbers as the
// SQLite store does.
import (
	"math"
	"math/bits"
)

var fpBase = [27]uint64{
	0x8000000000000000, 0xa000000000000000, 0xc800000000000000, 0xfa00000000000000,
	0x9c40000000000000, 0xc350000000000000, 0xf424000000000000, 0x9896800000000000,
	0xbebc200000000000, 0xee6b280000000000, 0x9502f90000000000, 0xba43b74000000000,
	0xe8d4a51000000000, 0x9184e72a00000000, 0xb5e620f480000000, 0xe35fa931a0000000,
	0x8e1bc9bf04000000, 0xb1a2bc2ec5000000, 0xde0b6b3a76400000, 0x8ac7230489e80000,
	0xad78ebc5ac620000, 0xd8d726b7177a8000, 0x878678326eac9000, 0xa968163f0a57b400,
	0xd3c21bcecceda100, 0x84595161401484a0, 0xa56fa5b99019a5c8,
}

var fpScale = [26]uint64{
	0x8049a4ac0c5811ae, 0xcf42894a5dce35ea, 0xa76c582338ed2621, 0x873e4f75e2224e68,
	0xda7f5bf590966848, 0xb080392cc4349dec, 0x8e938662882af53e, 0xe65829b3046b0afa,
	0xba121a4650e4ddeb, 0x964e858c91ba2655, 0xf2d56790ab41c2a2, 0xc428d05aa4751e4c,
	0x9e74d1b791e07e48, 0xcccccccccccccccc, 0xcecb8f27f4200f3a, 0xa70c3c40a64e6c51,
	0x86f0ac99b4e8dafd, 0xda01ee641a708de9, 0xb01ae745b101e9e4, 0x8e41ade9fbebc27d,
	0xe5d3ef282a242e81, 0xb9a74a0637ce2ee1, 0x95f83d0a1fb69cd9, 0xf24a01a73cf2dccf,
	0xc3b8358109e84f07, 0x9e19db92b4e31ba9,
}

var fpScaleLo = [26]uint32{
	0x205b896d, 0x52064cad, 0xaf2af2b8, 0x5a7744a7, 0xaf39a475, 0xbd8d794e, 0x547eb47b,
	0x0cb4a5a3, 0x92f34d62, 0x3a6a07f9, 0xfae27299, 0xaa97e14c, 0x775ea265, 0xcccccccc,
	0, 0x999090b6, 0x69a028bb, 0xe80e6f48, 0x5ec05dd0, 0x14588f14, 0x8f1668c9, 0x6d953e2c,
	0x4abdaf10, 0xbc633b39, 0x0a862f81, 0x6c07a2c2,
}

func pwr10to2(p int32) int32 { return p * 108853 >> 15 }
func pwr2to10(p int32) int32 { return p * 78913 >> 18 }

// multiply160 is the top 96 bits of (a<<32|aLo) * b: 64, then 32.
func multiply160(a uint64, aLo uint32, b uint64) (uint64, uint32) {
	x2, x1, x0 := a>>32, a&0xffffffff, uint64(aLo)
	y1, y0 := b>>32, b&0xffffffff
	x2y1 := x2 * y1
	r4 := x2y1 >> 32
	x2y0 := x2 * y0
	x1y1 := x1 * y1
	r3 := x2y1&0xffffffff + x2y0>>32 + x1y1>>32
	x1y0 := x1 * y0
	x0y1 := x0 * y1
	r2 := x2y0&0xffffffff + x1y1&0xffffffff + x1y0>>32 + x0y1>>32
	x0y0 := x0 * y0
	r1 := x1y0&0xffffffff + x0y1&0xffffffff + x0y0>>32
	r2 += r1 >> 32
	r3 += r2 >> 32
	return r4<<32 + r3, uint32(r2 & 0xffffffff)
}

func powerOfTen(p int32) (uint64, uint32) {
	var g, n int32
	if p < 0 {
		if p == -1 {
			return fpScale[13], fpScaleLo[13]
		}
		g, n = p/27, p%27
		if n != 0 {
			g--
			n += 27
		}
	} else {
		if p < 27 {
			return fpBase[p], 0
		}
		g, n = p/27, p%27
	}
	s := fpScale[g+13]
	if n == 0 {
		return s, fpScaleLo[g+13]
	}
	x, lo := multiply160(s, fpScaleLo[g+13], fpBase[n])
	if x&(1<<63) == 0 {
		x = x<<1 | uint64(lo>>31&1)
		lo = lo<<1 | 1
	}
	return x, lo
}

func fp2Convert10(m uint64, e, n int32) (uint64, int32) {
	p := n - 1 - pwr2to10(e+63)
	pw, _ := powerOfTen(p)
	h, _ := bits.Mul64(m, pw)
	var d uint64
	if n == 18 {
		h >>= uint(-(e + pwr10to2(p) + 2))
		d = (h + h<<1&2) >> 1
	} else {
		d = h >> uint(-(e + pwr10to2(p) + 1))
	}
	return d, -p
}

func fp10Convert2(d uint64, p int32) float64 {
	if p < -348 {
		return 0
	}
	if p > 347 {
		return math.Inf(1)
	}
	b := int32(64 - bits.LeadingZeros64(d))
	lp := pwr10to2(p)
	e := 53 - b - lp
	if e > 1074 {
		if e >= 1130 {
			return 0
		}
		e = 1074
	}
	s := -(e - (64 - b) + lp + 3)
	pwr10h, pwr10l := powerOfTen(p)
	if pwr10l != 0 {
		pwr10h++
		pwr10l = ^pwr10l
	}
	x := d << uint(64-b)
	hi, lo := bits.Mul64(x, pwr10h)
	mid1 := uint32(lo >> 32)
	sticky := uint64(1)
	if hi&(uint64(1)<<uint(s)-1) == 0 {
		h2, _ := bits.Mul64(x, uint64(pwr10l)<<32)
		mid2 := uint32(h2 >> 32)
		sticky = 0
		if mid1-mid2 > 1 {
			sticky = 1
		}
		if mid1 < mid2 {
			hi--
		}
	}
	u := hi>>uint(s) | sticky
	if u >= 1<<55-2 {
		u = u>>1 | u&1
		e--
	}
	m := (u + 1 + u>>2&1) >> 2
	if e <= -972 {
		return math.Inf(1)
	}
	if m&(1<<52) != 0 {
		m = m&^(1<<52) | uint64(1075-e)<<52
	}
	return math.Float64frombits(m)
}

// sqliteFpDecode is sqlite3FpDecode(r, 17, 20): the significant digits, where
// the decimal point goes (iDP), and whether r is negative.
func sqliteFpDecode(r float64) (z []byte, iDP int32, neg bool) {
	if r < 0 {
		neg, r = true, -r
	} else if r == 0 {
		return []byte{'0'}, 1, false
	}
	v := math.Float64bits(r)
	e := int32(v >> 52 & 0x7ff)
	v &= 0x000fffffffffffff
	if e == 0 {
		nn := int32(bits.LeadingZeros64(v))
		v <<= uint(nn)
		e = -1074 - nn
	} else {
		v = v<<11 | 1<<63
		e -= 1086
	}
	d, exp := fp2Convert10(v, e, 18)
	var buf [24]byte
	i := len(buf)
	for d > 0 {
		i--
		buf[i] = byte('0' + d%10)
		d /= 10
	}
	n := int32(len(buf) - i)
	iDP = n + exp
	z = buf[i:]
	iRound := int32(17)
	if iRound < n || n > 20 {
		if z[15] == '9' && z[14] == '9' {
			jj := int32(14)
			for jj > 0 && z[jj-1] == '9' {
				jj--
			}
			var w uint64 = 1
			if jj > 0 {
				w = 0
				for k := int32(0); k < jj; k++ {
					w = w*10 + uint64(z[k]-'0')
				}
				w++
			}
			if r == fp10Convert2(w, exp+n-jj) {
				iRound = jj + 1
			}
		} else if iDP >= n || (z[15] == '0' && z[14] == '0' && z[13] == '0') {
			jj := int32(13)
			for z[jj-1] == '0' {
				jj--
			}
			var w uint64
			for k := int32(0); k < jj; k++ {
				w = w*10 + uint64(z[k]-'0')
			}
			if r == fp10Convert2(w, exp+n-jj) {
				iRound = jj + 1
			}
		}
		n = iRound
		if z[iRound] >= '5' {
			j := iRound - 1
			for {
				z[j]++
				if z[j] <= '9' {
					break
				}
				z[j] = '0'
				if j == 0 {
					z = append([]byte{'1'}, z...)
					n++
					iDP++
					break
				}
				j--
			}
		}
	}
	for z[n-1] == '0' {
		n--
	}
	return z[:n], iDP, neg
}

// sqliteRealText17 is CAST(r AS TEXT) in SQLite 3.54 ("%!.17g").
func sqliteRealText17(r float64) string {
	switch {
	case math.IsInf(r, 1):
		return "Inf"
	case math.IsInf(r, -1):
		return "-Inf"
	case math.IsNaN(r):
		return "NaN"
	}
	z, iDP, neg := sqliteFpDecode(r)
	n := int32(len(z))
	var b []byte
	if neg {
		b = append(b, '-')
	}
	exp := iDP - 1
	precision := int32(16)
	expForm := exp < -4 || exp > precision
	e2 := iDP - 1
	if expForm {
		e2 = 0
	} else {
		precision -= exp
	}
	j := int32(0)
	if e2 < 0 {
		b = append(b, '0')
	} else {
		j = min(e2+1, n)
		b = append(b, z[:j]...)
		e2 -= j
		for ; e2 >= 0; e2-- {
			b = append(b, '0')
		}
	}
	b = append(b, '.')
	if e2 < -1 && precision > 0 {
		nn := min(-1-e2, precision)
		for range nn {
			b = append(b, '0')
		}
		precision -= nn
	}
	if precision > 0 {
		nn := min(n-j, precision)
		if nn > 0 {
			b = append(b, z[j:j+nn]...)
		}
	}
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	if b[len(b)-1] == '.' {
		b = append(b, '0')
	}
	if expForm {
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp >= 100 {
			b = append(b, byte('0'+exp/100))
			exp %= 100
		}
		b = append(b, byte('0'+exp/10), byte('0'+exp%10))
	}
	return string(b)
}

// sqliteAtoF is sqlite3AtoF for the numbers it is given here (JSON numbers, and
// text of digits, dots and signs): the mantissa keeps about 19 significant
// digits, the rest only move the exponent, and sqlite3Fp10Convert2 rounds
// the result. It reads the longest prefix that is a number; 0 when none.
func sqliteAtoF(z string) float64 {
	i := 0
	neg := false
	if i < len(z) && (z[i] == '-' || z[i] == '+') {
		neg = z[i] == '-'
		i++
	}
	const lim = (math.MaxUint64 - 9) / 10
	var s uint64
	var d int32
	digit := func(i int) bool { return i < len(z) && z[i] >= '0' && z[i] <= '9' }
	sawDigit := false
	if digit(i) {
		sawDigit = true
		s = uint64(z[i] - '0')
		i++
		for digit(i) {
			s = s*10 + uint64(z[i]-'0')
			i++
			if s >= lim {
				for digit(i) {
					i++
					d++
				}
				break
			}
		}
	}
	if i < len(z) && z[i] == '.' {
		i++
		if digit(i) {
			sawDigit = true
			for ; digit(i); i++ {
				if s < lim {
					s = s*10 + uint64(z[i]-'0')
					d--
				}
			}
		}
	}
	if !sawDigit {
		return 0
	}
	if i < len(z) && (z[i] == 'e' || z[i] == 'E') {
		j := i + 1
		esign := int32(1)
		if j < len(z) && (z[j] == '-' || z[j] == '+') {
			if z[j] == '-' {
				esign = -1
			}
			j++
		}
		if digit(j) {
			var exp int32
			for ; digit(j); j++ {
				if exp < 10000 {
					exp = exp*10 + int32(z[j]-'0')
				} else {
					exp = 10000
				}
			}
			d += esign * exp
		}
	}
	var r float64
	if s != 0 {
		r = fp10Convert2(s, d)
	}
	if neg {
		r = -r
	}
	return r
}

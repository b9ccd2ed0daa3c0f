package sigma

import (
	"fmt"
	"strconv"
	"strings"
)

// String is a readable dump of the compiled rule: its identity, log
// source and matcher tree, one node a line, indented. The compiler's
// golden tests compare it; its format may change between versions.
func (c *CompiledRule) String() string {
	var b strings.Builder
	r := c.Rule
	fmt.Fprintf(&b, "rule %s %q\n", r.ID, r.Title)
	fmt.Fprintf(&b, "logsource product=%q category=%q service=%q\n", r.Logsource.Product, r.Logsource.Category, r.Logsource.Service)
	for _, cond := range r.Detection.Conditions {
		fmt.Fprintf(&b, "condition %s\n", cond.Expr)
	}
	dumpNode(&b, c.cond, 0)
	return b.String()
}

func dumpNode(b *strings.Builder, n node, depth int) {
	ind := strings.Repeat("  ", depth)
	switch x := n.(type) {
	case *andNode:
		fmt.Fprintf(b, "%sand%s\n", ind, ofSuffix(x.of))
		for _, k := range x.kids {
			dumpNode(b, k, depth+1)
		}
	case *orNode:
		fmt.Fprintf(b, "%sor%s\n", ind, ofSuffix(x.of))
		for _, k := range x.kids {
			dumpNode(b, k, depth+1)
		}
	case *notNode:
		fmt.Fprintf(b, "%snot\n", ind)
		dumpNode(b, x.kid, depth+1)
	case *refNode:
		fmt.Fprintf(b, "%ssearch %s\n", ind, x.name)
		dumpNode(b, x.kid, depth+1)
	case *nullNode:
		fmt.Fprintf(b, "%s%s is null\n", ind, x.field)
	case *existsNode:
		fmt.Fprintf(b, "%s%s exists=%v\n", ind, x.field, x.want)
	case *fieldNode:
		name := x.field
		if x.keyword {
			name = "<keywords>"
		}
		link := "any"
		if x.all {
			link = "all"
		}
		nv := len(x.groups)
		if x.ac != nil {
			nv += len(x.ac.needles)
		}
		fmt.Fprintf(b, "%s%s %s of %d value(s)\n", ind, name, link, nv)
		if x.ac != nil {
			fmt.Fprintf(b, "%s  - contains any of %d (Aho-Corasick)\n", ind, len(x.ac.needles))
			for _, nd := range x.ac.needles {
				fmt.Fprintf(b, "%s    %s\n", ind, strconv.QuoteToASCII(nd))
			}
		}
		for _, g := range x.groups {
			for i, p := range g {
				alt := "-"
				if i > 0 {
					alt = "|"
				}
				fmt.Fprintf(b, "%s  %s %s\n", ind, alt, describePred(p))
			}
		}
	case *routeNode:
		fmt.Fprintf(b, "%spipeline condition %s\n", ind, x.item)
		dumpNode(b, x.kid, depth+1)
	case *filterNode:
		fmt.Fprintf(b, "%sfilter %s %q\n", ind, x.f.Filter.ID, x.f.Filter.Title)
		dumpNode(b, x.f.cond, depth+1)
	default:
		fmt.Fprintf(b, "%s%T\n", ind, n)
	}
}

func ofSuffix(of string) string {
	if of == "" {
		return ""
	}
	return " (" + of + ")"
}

func describePred(p pred) string {
	switch x := p.(type) {
	case *strPred:
		s := matchKindNames[x.m.kind]
		if x.m.kind == mGlob {
			s += " " + strconv.QuoteToASCII(x.m.glob.String())
		} else if x.m.kind != mAny {
			s += " " + strconv.QuoteToASCII(x.m.lit)
		}
		if x.m.cased {
			s += " cased"
		}
		if x.isNum {
			s += " or number " + strconv.FormatFloat(x.num, 'g', -1, 64)
		}
		if x.isBool {
			s += " or bool " + strconv.FormatBool(x.b)
		}
		return s
	case *rePred:
		return "re " + strconv.Quote(x.re.String())
	case *cidrPred:
		return "cidr " + x.pfx.String()
	case *cmpPred:
		return x.op + " " + strconv.FormatFloat(x.num, 'g', -1, 64)
	case *timePred:
		return x.part + " " + x.op + " " + strconv.FormatFloat(x.num, 'g', -1, 64)
	case *refPred:
		s := "fieldref " + x.field
		if x.cased {
			s += " cased"
		}
		return s
	}
	return fmt.Sprintf("%T", p)
}

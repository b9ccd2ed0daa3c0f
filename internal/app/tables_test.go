package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// sharedReads are the reads of another package's table that the design
// makes on purpose, each with its reason. Nothing else is allowed.
var sharedReads = map[string]map[string]string{
	// DESIGN principle 3: scope.Filter is the one place a Scope becomes SQL;
	// its subquery reads only the code and path of organisations, so that
	// every domain's store functions apply scope the same way.
	"scope": {"orgs": "scope.Filter's subquery"},
}

// movedDomains are migration sets whose recorded domain names a package
// that no longer holds them: the name is what databases have recorded, so
// it stays when the set moves.
var movedDomains = map[string]string{
	// The inbox's saved views shipped in cases; savedview keeps every
	// kind of saved view since (its 0002 renamed alert_views).
	"cases-views": "savedview",
}

var (
	renameTable = regexp.MustCompile(`(?i)\bALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+RENAME\s+TO\s+([A-Za-z_][A-Za-z0-9_]*)`)
	createTable = regexp.MustCompile(`(?i)\bCREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*)`)
	// SQL in Vigil is written with upper-case keywords; matching only those
	// keeps English ("read from users") out.
	tableUse = regexp.MustCompile(`\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_][a-z0-9_]*)\b`)
)

// TestTablesBelongToTheirPackage reads every domain's migrations to learn
// which package owns which table (a migration set's domain is its
// package's directory under internal/, or pkg-part for a second set), then every SQL string in the
// non-test Go code: a package that reads or writes another's table fails
// the test, naming the file and line. It asks the owner instead (DESIGN:
// "No package reads another package's tables: it asks that package").
func TestTablesBelongToTheirPackage(t *testing.T) {
	owner := map[string]string{}
	for _, set := range Migrations() {
		// A package with more than one migration set names the others
		// "pkg-part" (cases-views: the saved views); pkg owns their tables.
		pkg, _, _ := strings.Cut(set.Domain, "-")
		if moved, ok := movedDomains[set.Domain]; ok {
			pkg = moved
		}
		if fi, err := os.Stat(filepath.Join("..", pkg)); err != nil || !fi.IsDir() {
			t.Fatalf("migration domain %q is not a package directory under internal/ (%v)", set.Domain, err)
		}
		err := fs.WalkDir(set.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".sql") {
				return err
			}
			b, err := fs.ReadFile(set.FS, p)
			if err != nil {
				return err
			}
			for _, m := range createTable.FindAllStringSubmatch(string(b), -1) {
				name := strings.ToLower(m[1])
				if prev, ok := owner[name]; ok && prev != pkg {
					t.Errorf("table %s is created by both %s and %s", name, prev, pkg)
				}
				owner[name] = pkg
			}
			for _, m := range renameTable.FindAllStringSubmatch(string(b), -1) {
				owner[strings.ToLower(m[2])] = pkg
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(owner) < 10 {
		t.Fatalf("found only %d tables in the migrations: %v", len(owner), owner)
	}

	var problems []string
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel("..", p)
		pkg := strings.Split(filepath.ToSlash(rel), "/")[0] // a sub-package belongs to its parent's domain
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range tableUse.FindAllStringSubmatch(s, -1) {
				o, known := owner[m[1]]
				if !known || o == pkg || sharedReads[pkg][m[1]] != "" {
					continue
				}
				problems = append(problems, fset.Position(lit.Pos()).String()+": package "+pkg+" uses table "+m[1]+", which belongs to "+o)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

package store

import (
	"strings"
	"testing"
)

// TestSplitStatementsDollarQuoted keeps a PostgreSQL function whose body
// holds semicolons as one statement.
func TestSplitStatementsDollarQuoted(t *testing.T) {
	got := splitStatements(`-- a function, then a table
CREATE OR REPLACE FUNCTION f(v text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	IF v IS NULL THEN
		RETURN false;
	END IF;
	RETURN true;
END $$;
CREATE TABLE t (a int);
`)
	if len(got) != 2 || !strings.HasSuffix(got[0], "END $$;") || got[1] != "CREATE TABLE t (a int);" {
		t.Errorf("statements %q", got)
	}
}

// Command vigil is the national SOC and supplier cyber-risk platform.
// Everything it does lives in internal/cli; see `vigil --help`.
package main

import (
	"context"
	"os"

	"github.com/vigil-health/vigil/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

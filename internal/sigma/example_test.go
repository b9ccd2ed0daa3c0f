package sigma_test

import (
	"fmt"

	"github.com/vigil-health/vigil/internal/sigma"
)

func Example() {
	rule := []byte(`title: Whoami With All Flag
id: 9d8c1b5e-1111-4e5b-9a41-3d2f1c0e7a10
logsource:
    category: process_creation
    product: windows
detection:
    selection_img:
        Image|endswith: '\whoami.exe'
    selection_cli:
        CommandLine|contains|windash: ' -all'
    condition: all of selection_*
level: medium
`)
	r, err := sigma.Parse(rule, "whoami.yml")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := sigma.Compile(r, sigma.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := sigma.Map{"Image": `C:\Windows\System32\WHOAMI.EXE`, "CommandLine": "whoami /all"}
	fmt.Println(r.Logsource.Covers("windows", "process_creation", "sysmon"), c.Match(ev))
	fmt.Printf("%+v\n", c.Explain(ev))

	_, err = sigma.ParseAndCompile([]byte("title: x\nlogsource: {product: windows}\ndetection:\n    sel:\n        Image|foo: x\n    condition: sel\n"), "rules/x.yml", sigma.Options{})
	fmt.Println(err)
	// Output:
	// true true
	// {Matched:true Searches:[selection_img selection_cli] Fields:[Image CommandLine] Filtered:[]}
	// rules/x.yml:5: unknown modifier "foo"
}

package pipeline_test

import (
	"fmt"
	"log"

	"github.com/vigil-health/vigil/internal/sigma/pipeline"
)

// An engine compiles a rule through a pipeline once, at load time: it
// describes the rule in the package's small model, applies the pipeline,
// and compiles what comes back — the fields each detection item reads
// (any of them may match), the conditions to AND in, and the rewritten
// log source. An error is the reason to report the rule as unloadable.
func Example() {
	p, err := pipeline.Builtin("vigil")
	if err != nil {
		log.Fatal(err)
	}
	// A user's pipeline on top, in pySigma's format.
	mine, err := pipeline.Parse("mine.yml", []byte(`
name: mine
priority: 50
vars:
  admins: [alice, bob]
transformations:
  - id: admins
    type: value_placeholders
`))
	if err != nil {
		log.Fatal(err)
	}
	chain := pipeline.Chain(p, mine)

	res, err := chain.Apply(pipeline.Rule{
		LogSource: pipeline.LogSource{Product: "windows", Category: "process_creation"},
		Items: []pipeline.DetectionItem{
			{Field: "Image", Values: []string{`*\whoami.exe`}},
			{Field: "User", Values: []string{"%admins%"}, Expand: true},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range res.Items {
		fmt.Println(it.Fields, it.Values)
	}
	for _, c := range res.Conditions {
		for _, it := range c.Items {
			fmt.Println("AND", it.Fields, it.Values)
		}
	}
	fmt.Println(res.LogSource)
	// Output:
	// [Image NewProcessName] [*\whoami.exe]
	// [User SubjectUserName] [alice bob]
	// AND [Channel] [Microsoft-Windows-Sysmon/Operational Security]
	// AND [EventID] [1 4688]
	// product=windows category=process_creation
}

// Route gives the conditions that select a log source's events, for an
// engine that indexes rules by log source.
func ExamplePipeline_Route() {
	p, err := pipeline.Builtin("ecs")
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.Route(pipeline.LogSource{Product: "windows", Category: "dns_query"})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range res.Conditions {
		for _, it := range c.Items {
			fmt.Println(it.Fields, it.Values)
		}
	}
	// Output:
	// [winlog.channel] [Microsoft-Windows-Sysmon/Operational]
	// [winlog.event_id] [22]
}

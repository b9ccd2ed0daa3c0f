// Package pipeline reads Sigma processing pipelines — pySigma's
// processing-pipeline YAML and the older sigmac configuration format — and
// applies them to a rule the way a matching engine needs: which field
// names a rule's detection items read in the events, which extra
// conditions route the rule to its log source, how its log source is
// rewritten and which values its placeholders expand to.
//
// The package is engine-neutral: it knows a rule only as the small model
// in [Rule] (log source, tags, detection items as field and values), so
// the Sigma engine in internal/sigma imports it and not the other way
// round. It parses, it applies; it never evaluates events.
//
// pySigma defines many transformations for query-building backends. Those
// that only shape a backend's output (add_field, set_field, postprocessing,
// finalizers…) have no effect on which events match; they are listed in
// [Pipeline.Notes] with the reason. Those that change matching but that
// Vigil does not implement (convert_type, case, query_expression_placeholders…)
// are kept as items with [Item.Unsupported] set, and applying the pipeline
// to a rule those items would change fails with that reason: a rule is
// reported at load time, never silently never-matching. An unknown
// transformation or condition type is a parse error naming file, line and
// field.
//
// An engine uses it at rule load time, never per event:
//
//	p, _ := pipeline.Builtin("vigil")          // or Parse/ParseFile a user's YAML
//	p = pipeline.Chain(p, user...)            // pySigma's priority order
//	res, err := p.Apply(pipeline.Rule{...})   // err: report the rule, with the reason
//	res.Items[i].Fields   // the event fields detection item i reads (any may match)
//	res.Items[i].Values   // its values after replace_string, placeholders…
//	res.Conditions        // AND these in: they route the rule to its log source
//	res.LogSource         // after change_logsource
//
// Route(ls) answers the routing conditions of a log source alone, for an
// engine that indexes rules by log source; MapField(ls, f) the names one
// field reads (for a correlation's group-by fields, say).
//
// Items apply in order, as pySigma applies them: each sees the rule as
// the items before it left it (renamed fields, a rewritten log source,
// conditions added by add_condition, which later mappings rename too), and
// processing_item_applied conditions see which items changed the rule or
// the detection item.
//
// Built-in pipelines, in pySigma format, are embedded: [Builtin] returns
// "vigil" (events as Vigil's ingest stores them) or "ecs" (Elastic Common
// Schema events from Winlogbeat 7+ and Elastic Agent).
package pipeline

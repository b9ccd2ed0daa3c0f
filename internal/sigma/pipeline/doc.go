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
// Built-in pipelines, in pySigma format, are embedded: [Builtin] returns
// "vigil" (events as Vigil's ingest stores them) or "ecs" (Elastic Common
// Schema events from Winlogbeat 7+ and Elastic Agent).
package pipeline

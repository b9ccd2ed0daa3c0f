package api

import (
	"reflect"
	"sort"
	"strings"

	"github.com/vigil-health/vigil/internal/audit"
	"github.com/vigil-health/vigil/internal/auth"
	"github.com/vigil-health/vigil/internal/org"
	"github.com/vigil-health/vigil/internal/scope"
)

// schemaTypes maps each schema named in a spec to the Go type it is, so the
// document's schemas are derived from the types the handlers really encode.
func schemaTypes() map[string]reflect.Type {
	return map[string]reflect.Type{
		"Me":           reflect.TypeFor[Me](),
		"Org":          reflect.TypeFor[org.Org](),
		"OrgPage":      reflect.TypeFor[Page[org.Org]](),
		"OrgTree":      reflect.TypeFor[OrgTree](),
		"OrgPatch":     reflect.TypeFor[org.Patch](),
		"User":         reflect.TypeFor[auth.User](),
		"UserPage":     reflect.TypeFor[Page[auth.User]](),
		"NewUser":      reflect.TypeFor[NewUser](),
		"UserPatch":    reflect.TypeFor[auth.UserPatch](),
		"Grant":        reflect.TypeFor[scope.Grant](),
		"Token":        reflect.TypeFor[auth.Token](),
		"TokenList":    reflect.TypeFor[Page[auth.Token]](),
		"NewToken":     reflect.TypeFor[NewToken](),
		"CreatedToken": reflect.TypeFor[CreatedToken](),
		"AuditPage":    reflect.TypeFor[Page[audit.Entry]](),
		"Verification": reflect.TypeFor[audit.Verification](),
		"Problem":      reflect.TypeFor[Problem](),
		"OpenAPI":      reflect.TypeFor[map[string]any](),
	}
}

// AddSchema lets packages that register routes later name their types.
func (a *API) AddSchema(name string, t reflect.Type) {
	if a.extra == nil {
		a.extra = map[string]reflect.Type{}
	}
	a.extra[name] = t
}

// OpenAPI returns the OpenAPI 3.1 document for every registered route.
func (a *API) OpenAPI() map[string]any {
	types := schemaTypes()
	for k, v := range a.extra {
		types[k] = v
	}
	schemas := map[string]any{}
	for name, t := range types {
		schemas[name] = jsonSchema(t, 0)
	}
	paths := map[string]any{}
	specs := append([]spec(nil), a.specs...)
	sort.Slice(specs, func(i, j int) bool { return specs[i].Path < specs[j].Path })
	for _, s := range specs {
		item, _ := paths[s.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[s.Path] = item
		}
		op := map[string]any{
			"summary":     s.Summary,
			"tags":        []string{s.Tag},
			"operationId": strings.ToLower(s.Method) + strings.NewReplacer("/", "_", "{", "", "}", "").Replace(s.Path),
		}
		var params []any
		for _, p := range s.Params {
			params = append(params, map[string]any{"name": p.Name, "in": p.In, "required": p.Required || p.In == "path",
				"description": p.Desc, "schema": map[string]any{"type": p.Type}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if s.Body != "" {
			content := map[string]any{"application/json": map[string]any{"schema": ref(s.Body)}}
			if s.Upload {
				content["multipart/form-data"] = map[string]any{"schema": map[string]any{"type": "object",
					"description":          "one part per file, named by its filename (suppliers.csv, products.csv, …)",
					"additionalProperties": map[string]any{"type": "string", "format": "binary"}}}
			}
			op["requestBody"] = map[string]any{"required": true, "content": content}
		} else if s.Upload {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"multipart/form-data": map[string]any{"schema": map[string]any{
				"type": "object", "required": []string{"file"},
				"properties": map[string]any{"file": map[string]any{"type": "string", "format": "binary", "description": "the file, with its name"}}}}}}
		}
		ok := map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{"schema": ref(s.Response)}}}
		if s.Response == "" {
			ok = map[string]any{"description": "Done; no content"}
		}
		if s.Binary {
			ok = map[string]any{"description": "The file, as an attachment", "content": map[string]any{"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
		}
		resp := map[string]any{
			itoa(s.Status): ok,
			"default":      map[string]any{"description": "A problem", "content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}},
		}
		op["responses"] = resp
		if s.Public {
			op["security"] = []any{}
		}
		item[strings.ToLower(s.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Vigil API", "version": a.o.Version,
			"description": "National SOC and supplier cyber-risk platform. Authenticate with `Authorization: Bearer <token>` (create one with `vigil tokens create`). Lists are paginated with `limit` and `cursor`; errors are application/problem+json with a `type` from a closed set."},
		"servers":         []any{map[string]any{"url": Prefix}},
		"paths":           paths,
		"security":        []any{map[string]any{"bearer": []string{}}},
		"components":      map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
		"x-problem-types": ProblemTypes(),
	}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func itoa(n int) string { return formatInt(int64(n)) }

// jsonSchema describes t as encoding/json would encode it.
func jsonSchema(t reflect.Type, depth int) map[string]any {
	if depth > 6 {
		return map[string]any{}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.String() == "json.RawMessage" {
		return map[string]any{}
	}
	if t.String() == "time.Time" {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": jsonSchema(t.Elem(), depth+1)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": jsonSchema(t.Elem(), depth+1)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props := map[string]any{}
		addStructFields(t, props, depth)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

func addStructFields(t reflect.Type, props map[string]any, depth int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addStructFields(ft, props, depth)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		props[name] = jsonSchema(f.Type, depth+1)
	}
}

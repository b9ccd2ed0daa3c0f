package supply

import "github.com/vigil-health/vigil/internal/enum"

// checkEnum normalises *v (e.Parse: any case, any spelling) and, when it
// is not a value, adds the problem naming field and the values allowed.
func checkEnum[T ~string](ps *problems, e *enum.Set[T], field string, v *T) {
	p, ok := e.Parse(string(*v))
	if !ok {
		ps.add(field, "%q is not one of %s", *v, e.List())
	}
	*v = p
}

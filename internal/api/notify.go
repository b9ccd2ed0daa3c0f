package api

import (
	"net/http"
	"reflect"

	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/scope"
)

// registerNotify adds the caller's own notification settings. They are
// the caller's alone: no route reads or changes anyone else's.
func (a *API) registerNotify(rt *httpd.Router) {
	a.AddSchema("NotificationSettings", reflect.TypeFor[notify.Settings]())
	a.AddSchema("NotificationSettingsChange", reflect.TypeFor[notify.SettingsChange]())
	a.route(rt, spec{Method: "GET", Path: "/account/notifications", Tag: "me",
		Summary:  "Your notification settings: which events reach you by e-mail and by signed webhook, the webhook's URL and secret",
		Response: "NotificationSettings"}, func(r *http.Request, sc scope.Scope) (any, error) {
		return a.o.Notify.Settings(r.Context(), sc)
	})
	a.route(rt, spec{Method: "PUT", Path: "/account/notifications", Tag: "me",
		Summary: "Replace your notification settings (kinds: case.assigned, comment.mention, clock.breached, case.escalated); a first webhook URL or rotate_secret makes a new secret",
		Body:    "NotificationSettingsChange", Response: "NotificationSettings"}, func(r *http.Request, sc scope.Scope) (any, error) {
		var ch notify.SettingsChange
		if err := decode(r, &ch); err != nil {
			return nil, err
		}
		return a.o.Notify.SetSettings(r.Context(), sc, ch)
	})
}

package web

import (
	"net/http"
	"slices"

	"github.com/vigil-health/vigil/internal/httpd"
	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/scope"
)

// The account's notification settings (issue 15): which events reach the
// person by e-mail and by signed webhook. notify owns the rule; this page
// only shows and submits the caller's own settings.

type notifyKindView struct {
	Kind, Label    string
	Email, Webhook bool
}

type notifySettingsData struct {
	S          notify.Settings
	Kinds      []notifyKindView
	Form       *form
	Message    string
	Deliveries []notify.Delivery
}

// registerNotify adds the notification settings pages when notify is on.
func (w *Web) registerNotify(h func(method, pattern string, access httpd.Access, summary string, fn httpd.Handler)) {
	if w.o.Notify == nil {
		return
	}
	h("GET", "/account/notifications", httpd.Authenticated, "Your notification settings: e-mail and signed webhooks", w.notifySettings)
	h("POST", "/account/notifications", httpd.Authenticated, "Change your notification settings", w.saveNotifySettings)
}

func (w *Web) renderNotify(rw http.ResponseWriter, r *http.Request, sc scope.Scope, status int, d notifySettingsData) {
	ctx := r.Context()
	if d.Form == nil {
		st, err := w.o.Notify.Settings(ctx, sc)
		if err != nil {
			w.fail(rw, r, sc, err)
			return
		}
		d.S = st
		d.Form = &form{Values: map[string]string{"webhook_url": st.WebhookURL}, Errors: map[string]string{}}
	}
	d.S.EmailAvailable = w.o.Notify.EmailEnabled()
	for _, k := range notify.Kinds() {
		d.Kinds = append(d.Kinds, notifyKindView{Kind: k, Label: notify.KindLabel(k), Email: slices.Contains(d.S.Email, k), Webhook: slices.Contains(d.S.Webhook, k)})
	}
	if ds, err := w.o.Notify.Deliveries(ctx, sc, 20); err == nil {
		d.Deliveries = ds
	} else {
		w.log.Warn("notification deliveries", "err", err)
	}
	if d.Message == "" && r.URL.Query().Get("done") == "saved" {
		d.Message = "Notification settings saved."
	}
	v := w.page(r, sc, "Notifications", "")
	v.D = d
	w.render(rw, r, status, "account_notifications", v)
}

func (w *Web) notifySettings(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	w.renderNotify(rw, r, sc, http.StatusOK, notifySettingsData{})
}

func (w *Web) saveNotifySettings(rw http.ResponseWriter, r *http.Request, sc scope.Scope) {
	limitBody(rw, r)
	if err := r.ParseForm(); err != nil {
		w.fail(rw, r, sc, err)
		return
	}
	f := newForm(r, "webhook_url")
	ch := notify.SettingsChange{Email: r.PostForm["email"], Webhook: r.PostForm["webhook"], WebhookURL: f.V("webhook_url"),
		RotateSecret: r.PostFormValue("rotate") == "on"}
	if ch.Email == nil {
		ch.Email = []string{}
	}
	st, err := w.o.Notify.SetSettings(r.Context(), sc, ch)
	if err != nil {
		if f.fieldError(err, "webhook_url") {
			d := notifySettingsData{Form: f, S: notify.Settings{Email: ch.Email, Webhook: ch.Webhook, WebhookURL: ch.WebhookURL}}
			w.renderNotify(rw, r, sc, http.StatusUnprocessableEntity, d)
			return
		}
		w.fail(rw, r, sc, err)
		return
	}
	_ = st
	http.Redirect(rw, r, "/account/notifications?done=saved", http.StatusSeeOther)
}

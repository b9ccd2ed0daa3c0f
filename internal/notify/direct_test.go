package notify_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-health/vigil/internal/notify"
	"github.com/vigil-health/vigil/internal/store"
	"github.com/vigil-health/vigil/internal/store/storetest"
)

// A direct notice (a national cyber alert's) reaches each named user by
// e-mail through the real SMTP server and, for one with a webhook, by a
// signed POST; an unknown address is skipped; sending it again sends
// nothing twice.
func TestSendDirect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rcv := newReceiver(t)
		e := setup(t, db, func(o *notify.Options) {
			o.WebhookRoots = rcv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		})
		ctx := t.Context()
		st, err := e.n.SetSettings(ctx, e.carol, notify.SettingsChange{Webhook: []string{notify.Assigned}, WebhookURL: rcv.URL + "/hook"})
		if err != nil {
			t.Fatal(err)
		}
		rcv.mu.Lock()
		rcv.secret = st.WebhookSecret
		rcv.mu.Unlock()
		d := notify.Direct{ID: "cyberalert.issued/CA-1/RJ1", Kind: "cyberalert.issued", Ref: "CA-1", To: []string{"Alice@rj1.nhs.test", "carol@rj1.nhs.test", "nobody@rj1.nhs.test"},
			Subject: "[TLP:AMBER] National cyber alert CA-1", Body: "Acknowledge within 48 hours.", Payload: map[string]string{"alert_id": "CA-1"}}
		for range 2 {
			if err := e.n.SendDirect(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		e.smtp.Wait(2, 10*time.Second)
		time.Sleep(100 * time.Millisecond) // a third would have arrived by now
		if mails := e.smtp.Mails(); len(mails) != 2 {
			t.Fatalf("%d e-mails, want 2 (one each to Alice and Carol): %+v", len(mails), mails)
		}
		for _, who := range []string{"alice@rj1.nhs.test", "carol@rj1.nhs.test"} {
			m := e.smtp.To(who)
			if len(m) != 1 || m[0].Subject() != d.Subject || !strings.Contains(m[0].Text(), d.Body) {
				t.Errorf("mail to %s: %+v", who, m)
			}
		}
		if got := rcv.payloads(); len(got) != 1 || got[0].Kind != "cyberalert.issued" || !strings.HasPrefix(got[0].ID, d.ID+"/") {
			t.Errorf("webhook payloads %+v, bad %v", got, rcv.bad)
		}
		ds, err := e.n.Deliveries(ctx, e.carol, 10)
		if err != nil || len(ds) != 2 || ds[0].Case != "CA-1" {
			t.Errorf("Carol's deliveries %+v %v", ds, err)
		}
	}, sets...)
}

package audit

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-health/vigil/internal/phrase"
)

// Names resolves people and organisations for Describe, within what the
// reader may see: "" when the reader may not see them or they are gone,
// and the sentence then uses what the entry itself holds (an e-mail
// address, an ODS code). A nil Names resolves nothing.
type Names interface {
	UserName(id string) string
	OrgName(code string) string
}

// Describe says in one sentence what an entry records: who did what to
// what, built from its action, object and before/after documents —
// "Alice Smith (alice@nhs.net) granted org-analyst on Guy's and St
// Thomas' (RJ1) to Carol Jones", "bob@nhs.net was refused: too many
// sign-in attempts …", "The operator root (command line) exported the
// supplier register (11 suppliers, …)". The web audit pages and `vigil
// audit list` both print it. An action it does not know is still named,
// with its object.
func Describe(e Entry, n Names) string {
	s, _ := describe(e, n)
	return s
}

// describe is Describe, also reporting whether the action was one it
// knows (the tests hold every action Vigil records to that).
func describe(e Entry, n Names) (string, bool) {
	d := describer{e: e, n: n}
	what, ok := d.predicate()
	if !ok {
		what = fmt.Sprintf("did %s on %s", e.Action, strings.TrimSpace(e.ObjectType+" "+e.ObjectID))
	}
	return d.actor() + " " + what, ok
}

type describer struct {
	e Entry
	n Names
}

func (d describer) userName(id string) string {
	if d.n == nil || id == "" {
		return ""
	}
	return d.n.UserName(id)
}

func (d describer) orgName(code string) string {
	if d.n == nil || code == "" {
		return ""
	}
	return d.n.OrgName(code)
}

// caseDoc is what the cases domain records of a case.
type caseDoc struct {
	Title      string `json:"title"`
	Status     string `json:"status"`
	Resolution string `json:"resolution"`
	Impact     string `json:"impact"`
}

func (c caseDoc) titled() string {
	if c.Title == "" {
		return ""
	}
	return " (" + clip(c.Title) + ")"
}

// actor is who acted: a person as "Name (e-mail)", Vigil itself, or the
// operator at the command line.
func (d describer) actor() string {
	e := d.e
	switch {
	case e.ActorID == "system":
		switch e.Actor {
		case "vigil":
			return "Vigil"
		case "oidc":
			return "Single sign-on"
		case "demo":
			return "The demo loader"
		}
		return "Vigil (" + clip(e.Actor) + ")"
	case strings.HasPrefix(e.ActorID, "cli:"):
		return "The operator " + clip(strings.TrimPrefix(e.ActorID, "cli:")) + " (command line)"
	}
	name, email := d.userName(e.ActorID), e.Actor
	switch {
	case name != "" && email != "" && !strings.EqualFold(name, email):
		return clip(name) + " (" + clip(email) + ")"
	case email != "":
		return clip(email)
	case name != "":
		return clip(name)
	case e.ActorID != "":
		return "User " + e.ActorID
	}
	return "Someone"
}

// person names a user the entry is about: by name when the reader may see
// them, else by what the entry holds, else by ID; "themselves" when it is
// the actor.
func (d describer) person(id, name, email string) string {
	if id != "" && id == d.e.ActorID {
		return "themselves"
	}
	if n := d.userName(id); n != "" {
		return clip(n)
	}
	switch {
	case name != "" && email != "" && !strings.EqualFold(name, email):
		return clip(name) + " (" + clip(email) + ")"
	case name != "":
		return clip(name)
	case email != "":
		return clip(email)
	case id != "":
		return "user " + id
	}
	return "a user"
}

// owner is person's "of …" form for things a user owns.
func (d describer) owner(id, name, email string) string {
	if id != "" && id == d.e.ActorID {
		return "their own"
	}
	return "of " + d.person(id, name, email)
}

// org names an organisation "Name (CODE)", with the name the entry holds
// when the reader may not look it up.
func (d describer) org(code, name string) string {
	if code == "" {
		return "an organisation"
	}
	if n := d.orgName(code); n != "" {
		name = n
	}
	if name == "" || strings.EqualFold(name, code) {
		return code
	}
	return clip(name) + " (" + code + ")"
}

// doc decodes a before or after document into v; a document that is not
// what the action wrote leaves v as it was.
func doc(raw json.RawMessage, v any) bool {
	return len(raw) > 0 && json.Unmarshal(raw, v) == nil
}

type userDoc struct {
	ID              string     `json:"id"`
	Email           string     `json:"email"`
	Name            string     `json:"name"`
	Org             string     `json:"org"`
	Disabled        bool       `json:"disabled"`
	Via             string     `json:"via"`
	Grants          []grantDoc `json:"grants"`
	PasswordChanged bool       `json:"password_changed"`
}

type grantDoc struct {
	Role string `json:"role"`
	Org  string `json:"org"`
}

type tokenDoc struct {
	ID        string `json:"id"`
	Org       string `json:"org"` // ingest tokens
	UserID    string `json:"user_id"`
	User      string `json:"user"`
	Name      string `json:"name"`
	ExpiresAt string `json:"expires_at"`
}

type orgDoc struct {
	Code   string `json:"ods"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
	Status string `json:"status"`
}

func (d describer) predicate() (string, bool) {
	e := d.e
	switch e.Action {
	case "auth.signin":
		return "signed in", true
	case "alert.create":
		var a struct {
			Source   string `json:"source"`
			Severity string `json:"severity"`
			Title    string `json:"title"`
		}
		doc(e.After, &a)
		return fmt.Sprintf("reported %s alert %s from %s: %s", or(a.Severity, "an"), e.ObjectID, or(a.Source, "a source"), clip(a.Title)), true
	case "alert.repeat":
		var a struct {
			Occurrences int `json:"occurrences"`
		}
		doc(e.After, &a)
		return fmt.Sprintf("reported alert %s again (%s)", e.ObjectID, phrase.Count(a.Occurrences, "time", "times")), true
	case "alert.generate":
		var a struct {
			Count int `json:"count"`
			Orgs  int `json:"orgs"`
		}
		doc(e.After, &a)
		return fmt.Sprintf("generated %s across %s for testing", phrase.Count(a.Count, "synthetic alert", ""), phrase.Count(a.Orgs, "organisation", "")), true
	case "alert.add-to-case":
		var a struct {
			Case string `json:"case_id"`
		}
		doc(e.After, &a)
		return "added alert " + e.ObjectID + " to case " + or(a.Case, "?"), true
	case "case.create":
		var c caseDoc
		doc(e.After, &c)
		return "opened case " + e.ObjectID + c.titled(), true
	case "case.update":
		var c caseDoc
		doc(e.After, &c)
		return "changed case " + e.ObjectID + c.titled() + d.fieldChanges(e.Before, e.After, "", "updated_at"), true
	case "case.status":
		var b, a caseDoc
		doc(e.Before, &b)
		doc(e.After, &a)
		s := "moved case " + e.ObjectID + a.titled() + " from " + or(b.Status, "?") + " to " + or(a.Status, "?")
		if a.Resolution != "" {
			s += " (" + a.Resolution + ", impact " + or(a.Impact, "not given") + ")"
		}
		return s, true
	case "case.merge":
		var a struct {
			Merged string `json:"merged"`
		}
		doc(e.After, &a)
		return "merged case " + or(a.Merged, "?") + " into case " + e.ObjectID, true
	case "case.link":
		var a struct {
			Linked string `json:"linked"`
		}
		doc(e.After, &a)
		return "linked case " + e.ObjectID + " with case " + or(a.Linked, "?"), true
	case "case.split":
		var a struct {
			New string `json:"new_case"`
		}
		doc(e.After, &a)
		return "split case " + or(a.New, "?") + " off case " + e.ObjectID, true
	case "case.comment":
		return "commented on case " + e.ObjectID, true
	case "incident.open":
		var a struct {
			Title    string `json:"title"`
			Supplier string `json:"supplier"`
			Product  string `json:"product"`
			Orgs     int    `json:"organisations"`
		}
		doc(e.After, &a)
		what := "supplier " + or(a.Supplier, "?")
		if a.Product != "" {
			what = "product " + a.Product + " of " + what
		}
		return fmt.Sprintf("opened national incident %s (%s) over the compromise of %s, with a case for each of %s", e.ObjectID, clip(a.Title), what,
			phrase.Count(a.Orgs, "affected organisation", "")), true
	case "incident.refresh":
		var a struct {
			Added    int `json:"added"`
			Changed  int `json:"changed"`
			Dropped  int `json:"dropped"`
			Returned int `json:"returned"`
		}
		doc(e.After, &a)
		return fmt.Sprintf("refreshed national incident %s from the supplier register: %s opened, %d changed, %d no longer affected, %d affected again",
			e.ObjectID, phrase.Count(a.Added, "new case", ""), a.Changed, a.Dropped, a.Returned), true
	case "incident.ack":
		var a struct {
			Incident string `json:"incident"`
			Status   string `json:"status"`
		}
		doc(e.After, &a)
		return "acknowledged national incident " + or(a.Incident, "?") + " on case " + e.ObjectID + ", reporting " + strings.ReplaceAll(or(a.Status, "no status"), "-", " "), true
	case "incident.update":
		var a struct {
			Title    string `json:"title"`
			Children int    `json:"children"`
		}
		doc(e.After, &a)
		return fmt.Sprintf("shared the update %q of national incident %s with %s", clip(a.Title), e.ObjectID, phrase.Count(a.Children, "affected organisation", "")), true
	case "case.clock.breach", "case.clock.start", "case.clock.reported", "case.clock.cancel":
		var a struct {
			Clock      string `json:"clock"`
			Due        string `json:"due"`
			Started    string `json:"started"`
			EscalateTo string `json:"escalate_to"`
			Note       string `json:"note"`
		}
		doc(e.After, &a)
		clk := clockWords(a.Clock)
		switch e.Action {
		case "case.clock.breach":
			s := "recorded that the " + clk + " of case " + e.ObjectID + " was breached"
			if a.Due != "" {
				s += " (due " + a.Due + ")"
			}
			if a.EscalateTo != "" {
				s += " and escalated it to " + andList(strings.Split(a.EscalateTo, ","))
			}
			return s, true
		case "case.clock.start":
			s := "started the " + clk + " of case " + e.ObjectID
			if a.Due != "" {
				s += ", due " + a.Due
			}
			return s, true
		case "case.clock.reported":
			return "recorded the report for the " + clk + " of case " + e.ObjectID + " as made", true
		}
		s := "cancelled the " + clk + " of case " + e.ObjectID
		if a.Note != "" {
			s += ": " + clip(a.Note)
		}
		return s, true
	case "case.report":
		var a struct {
			Kind   string `json:"kind"`
			Format string `json:"format"`
		}
		doc(e.After, &a)
		what := "a report of"
		if a.Kind == "regulatory" {
			what = "the regulatory report pack (NIS, ICO) of"
		}
		s := "exported " + what + " case " + e.ObjectID
		if f := map[string]string{"md": "Markdown", "html": "HTML", "pdf": "PDF"}[a.Format]; f != "" {
			s += " as " + f
		}
		return s, true
	case "notify.settings":
		var a struct {
			Email      []string `json:"email"`
			Webhook    []string `json:"webhook"`
			WebhookURL string   `json:"webhook_url"`
			NewSecret  bool     `json:"new_secret"`
		}
		doc(e.After, &a)
		s := "changed their notification settings: e-mail for " + orNone(a.Email)
		if a.WebhookURL != "" {
			s += ", webhook " + clip(a.WebhookURL) + " for " + orNone(a.Webhook)
		}
		if a.NewSecret {
			s += " (new webhook secret)"
		}
		return s, true
	case "alert.view.save", "alert.view.delete", "event.search.save", "event.search.delete":
		// A person's saved views (savedview): the kind is in the action.
		var v struct {
			Name string `json:"name"`
		}
		what := "inbox view"
		if strings.HasPrefix(e.Action, "event.") {
			what = "event search"
		}
		doc(e.After, &v)
		if strings.HasSuffix(e.Action, ".delete") {
			doc(e.Before, &v)
			return "deleted their saved " + what + " " + quoted(v.Name), true
		}
		return "saved the " + what + " " + quoted(v.Name), true
	case "case.observable.add":
		var a struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		}
		doc(e.After, &a)
		return "added the observable " + strings.TrimSpace(a.Type+" "+clip(a.Value)) + " to case " + e.ObjectID, true
	case "case.timeline.add":
		return "added a timeline entry to case " + e.ObjectID, true
	case "case.task.create", "case.task.update", "case.task.log":
		var a struct {
			Title  string `json:"title"`
			Status string `json:"status"`
		}
		doc(e.After, &a)
		task := "task " + e.ObjectID
		if a.Title != "" {
			task += " (" + clip(a.Title) + ")"
		}
		switch e.Action {
		case "case.task.create":
			return "added " + task, true
		case "case.task.log":
			return "logged work on " + task, true
		}
		if a.Status != "" {
			return "updated " + task + ", now " + a.Status, true
		}
		return "updated " + task, true
	}
	switch {
	case strings.HasPrefix(e.Action, "alert.triage."):
		var a struct {
			Status      string `json:"status"`
			Disposition string `json:"disposition"`
			Assignee    string `json:"assignee"`
		}
		doc(e.After, &a)
		s := "triaged alert " + e.ObjectID + " (" + strings.TrimPrefix(e.Action, "alert.triage.") + ")"
		var now []string
		for _, x := range []string{a.Status, a.Disposition, a.Assignee} {
			if x != "" {
				now = append(now, x)
			}
		}
		if len(now) > 0 {
			s += ": now " + strings.Join(now, ", ")
		}
		return s, true
	case strings.HasPrefix(e.Action, "case.attachment."):
		var a struct {
			Case string `json:"case"`
			Name string `json:"name"`
			Size int64  `json:"size"`
		}
		doc(e.After, &a)
		verb := strings.TrimPrefix(e.Action, "case.attachment.")
		switch verb {
		case "upload":
			verb = "uploaded"
		case "download":
			verb = "downloaded"
		}
		return fmt.Sprintf("%s the evidence file %s (%s) of case %s", verb, clip(or(a.Name, e.ObjectID)), phrase.Count(a.Size, "byte", ""), or(a.Case, "?")), true
	}
	switch e.Action {
	case "auth.signout":
		return "signed out", true
	case "auth.signin_failed":
		var a struct {
			Reason string `json:"reason"`
		}
		doc(e.After, &a)
		switch {
		case a.Reason == "no role":
			return "was refused single sign-on: the identity provider gave them no role in Vigil", true
		case a.Reason != "":
			return "was refused: " + clip(a.Reason), true
		case e.ActorID == "":
			return "was refused: no account has this address", true
		}
		return "was refused: wrong password", true
	case "auth.signin_throttled":
		var a struct {
			Limit string `json:"limit"`
			Retry int    `json:"retry_after_seconds"`
		}
		doc(e.After, &a)
		s := "was refused: too many sign-in attempts"
		var why []string
		switch a.Limit {
		case "account":
			why = append(why, "on this account from everywhere")
		case "account-address":
			why = append(why, "on this account from this address")
		case "address":
			why = append(why, "from this address")
		case "device":
			why = append(why, "from this browser")
		}
		if a.Retry > 0 {
			why = append(why, "may try again in "+seconds(a.Retry))
		}
		if len(why) > 0 {
			s += " (" + strings.Join(why, "; ") + ")"
		}
		return s, true
	case "auth.csrf_refused":
		return "was refused " + clip(e.ObjectID) + ": the form's security token was missing or wrong (a page left open too long, or a request forged by another site)", true
	case "user.create":
		var u userDoc
		doc(e.After, &u)
		u.Org = or(u.Org, e.Org)
		who := d.newcomer(u)
		if u.Via == "oidc" {
			return "created the account of " + who + " at their first single sign-on, at " + d.org(u.Org, ""), true
		}
		s := "added the user " + who
		if u.Org != "" {
			s += " at " + d.org(u.Org, "")
		}
		var here, elsewhere []grantDoc
		for _, g := range u.Grants {
			if g.Org == u.Org {
				here = append(here, g)
			} else {
				elsewhere = append(elsewhere, g)
			}
		}
		if len(here) > 0 {
			roles := make([]string, len(here))
			for i, g := range here {
				roles[i] = g.Role
			}
			s += " as " + andList(roles)
		}
		if len(elsewhere) > 0 {
			s += " with " + d.grants(elsewhere)
		}
		return s, true
	case "user.update":
		var b, a userDoc
		doc(e.Before, &b)
		doc(e.After, &a)
		return d.userChange(b, a), true
	case "user.grant", "user.revoke":
		var b, a []grantDoc
		doc(e.Before, &b)
		doc(e.After, &a)
		target := d.person(e.ObjectID, "", "")
		if e.Action == "user.grant" {
			return "granted " + d.grants(grantDiff(a, b, e.Org)) + " to " + target, true
		}
		return "took " + d.grants(grantDiff(b, a, e.Org)) + " away from " + target, true
	case "token.create", "token.revoke":
		var t tokenDoc
		if !doc(e.After, &t) {
			doc(e.Before, &t)
		}
		name := "an API token"
		if t.Name != "" {
			name = "the API token “" + clip(t.Name) + "”"
		}
		if e.Action == "token.revoke" {
			if t.UserID == e.ActorID && t.UserID != "" {
				return "revoked their own API token" + strings.TrimPrefix(name, "the API token"), true
			}
			return "revoked " + name + " " + d.owner(t.UserID, "", t.User), true
		}
		s := "created " + name + " for " + d.person(t.UserID, "", t.User)
		if t.UserID == e.ActorID && t.UserID != "" {
			s = "created their own API token" + strings.TrimPrefix(name, "the API token")
		}
		if len(t.ExpiresAt) >= 10 {
			return s + ", expiring " + t.ExpiresAt[:10], true
		}
		return s + ", never expiring", true
	case "ingest_token.create", "ingest_token.revoke":
		var t tokenDoc
		if !doc(e.After, &t) {
			doc(e.Before, &t)
		}
		name := "an ingest token"
		if t.Name != "" {
			name = "the ingest token “" + clip(t.Name) + "”"
		}
		where := d.org(or(t.Org, e.Org), "")
		if e.Action == "ingest_token.revoke" {
			return "revoked " + name + " of " + where, true
		}
		s := "created " + name + ", with which a sender posts the events of " + where
		if len(t.ExpiresAt) >= 10 {
			return s + ", expiring " + t.ExpiresAt[:10], true
		}
		return s + ", never expiring", true
	case "org.create":
		var o orgDoc
		doc(e.After, &o)
		s := "created the organisation " + d.org(or(o.Code, e.ObjectID), o.Name)
		if o.Parent != "" {
			s += " under " + d.org(o.Parent, "")
		}
		return s, true
	case "org.update":
		var b, a orgDoc
		doc(e.Before, &b)
		doc(e.After, &a)
		return d.orgChange(b, a), true
	case "org.import":
		if e.ObjectType == "org" {
			var b, a orgDoc
			if doc(e.Before, &b) {
				doc(e.After, &a)
				return "imported changes to " + d.org(or(a.Code, e.ObjectID), a.Name) + " from the ODS lists" + d.fieldChanges(e.Before, e.After, "", "path"), true
			}
			doc(e.After, &a)
			return "imported " + d.org(or(a.Code, e.ObjectID), a.Name) + " from the ODS lists", true
		}
		return "imported the ODS organisation lists" + numbers(e.After), true
	case "org.import.incomplete":
		var a struct {
			Applied int `json:"applied"`
			Planned int `json:"planned"`
		}
		doc(e.After, &a)
		return fmt.Sprintf("stopped importing the ODS organisation lists after %s of %s (the rest was not applied)",
			phrase.Count(a.Applied, "change", ""), phrase.Int(a.Planned)), true
	case "export":
		return d.export(), true
	case "rule.import", "rule.save", "rule.enable", "rule.level", "rule.reset", "rule.except", "rule.unexcept":
		return d.rule(), true
	case "cyberalert.issue", "cyberalert.scope", "cyberalert.acknowledge", "cyberalert.applicability",
		"cyberalert.update", "cyberalert.close", "cyberalert.remind", "cyberalert.escalate", "cyberalert.unscope":
		return d.cyberAlert(), true
	case "vuln.sbom.add", "vuln.sbom.delete", "vuln.inventory.add", "vuln.inventory.delete", "vuln.match":
		return d.vulnSBOM(), true
	case "assurance.dtac.put", "assurance.dcb0129.put", "assurance.dcb0160.put", "assurance.charter.sign", "assurance.principles.set", "assurance.evidence.expiry":
		return d.schemes(), true
	case "vuln.finding.acknowledge", "vuln.finding.accept", "vuln.finding.close", "vuln.finding.reopen", "vuln.vex.add", "vuln.vex.delete":
		return d.vulnFinding(), true
	case "assurance.set.import":
		var a struct {
			Key, Version, Source string
			Nodes, Indicators    int
			Profiles             []string
		}
		doc(e.After, &a)
		return fmt.Sprintf("imported the requirement set %s version %s from %s: %s, %s, %s", quoted(a.Key), a.Version, quoted(a.Source),
			phrase.Count(a.Nodes, "node", "nodes"), phrase.Count(a.Indicators, "indicator", "indicators"), phrase.Count(len(a.Profiles), "profile", "profiles")), true
	case "assurance.dspt.import":
		var a struct{ Created, Updated int }
		doc(e.After, &a)
		return fmt.Sprintf("imported the DSPT snapshots %s: %s new, %s changed", e.ObjectID, phrase.Int(a.Created), phrase.Int(a.Updated)), true
	case "assurance.certificate.put":
		var c struct {
			SupplierID string `json:"supplier_id"`
			Scheme     string `json:"scheme"`
			Number     string `json:"number"`
			Expires    string `json:"expires"`
		}
		doc(e.After, &c)
		out := "recorded the " + c.Scheme + " certificate " + c.Number + " of supplier " + c.SupplierID
		if len(c.Expires) >= 10 {
			out += ", expiring " + c.Expires[:10]
		}
		return out, true
	case "assurance.campaign.create":
		var a struct {
			Name         string `json:"name"`
			SetID        string `json:"set_id"`
			Profile      string `json:"profile"`
			Deadline     string `json:"deadline"`
			Suppliers    int    `json:"suppliers"`
			Requirements int    `json:"requirements"`
		}
		doc(e.After, &a)
		set := a.SetID
		if a.Profile != "" {
			set += " (profile " + a.Profile + ")"
		}
		return fmt.Sprintf("started the assurance campaign %s (%s) against %s: %s asked about %s by %s", quoted(a.Name), e.ObjectID, set,
			phrase.Count(a.Suppliers, "supplier", "suppliers"), phrase.Count(a.Requirements, "requirement", "requirements"), a.Deadline), true
	case "assurance.statement.request":
		var a struct {
			Campaign   string `json:"campaign"`
			SupplierID string `json:"supplier_id"`
		}
		doc(e.After, &a)
		return "asked supplier " + a.SupplierID + " for statement " + e.ObjectID + " in campaign " + a.Campaign, true
	case "assurance.answer.save":
		var a struct {
			Seq    int    `json:"seq"`
			Answer string `json:"answer"`
		}
		doc(e.After, &a)
		verb := "answered"
		if len(e.Before) > 0 {
			verb = "changed the answer to"
		}
		return fmt.Sprintf("%s requirement %d of statement %s: %s", verb, a.Seq, e.ObjectID, strings.ReplaceAll(a.Answer, "_", " ")), true
	case "assurance.evidence.add":
		var a struct {
			Seq    int    `json:"seq"`
			Kind   string `json:"kind"`
			Name   string `json:"name"`
			SHA256 string `json:"sha256"`
			URL    string `json:"url"`
		}
		doc(e.After, &a)
		if a.Kind == "link" {
			return fmt.Sprintf("gave the link %s as evidence for requirement %d of statement %s", quoted(a.URL), a.Seq, e.ObjectID), true
		}
		return fmt.Sprintf("attached %s (SHA-256 %s) as evidence for requirement %d of statement %s", quoted(a.Name), a.SHA256, a.Seq, e.ObjectID), true
	case "assurance.statement.submit":
		var a struct {
			Version    int    `json:"version"`
			SignedRole string `json:"signed_role"`
		}
		doc(e.After, &a)
		as := ""
		if a.SignedRole != "" {
			as = ", signed as " + quoted(a.SignedRole)
		}
		return fmt.Sprintf("submitted statement %s (version %d)%s", e.ObjectID, a.Version, as), true
	case "assurance.answer.review":
		var a struct {
			Seq    int    `json:"seq"`
			Review string `json:"review"`
			Note   string `json:"note"`
			Status string `json:"status"`
		}
		doc(e.After, &a)
		verb := map[string]string{"accepted": "accepted", "queried": "queried", "rejected": "rejected"}[a.Review]
		out := fmt.Sprintf("%s the answer to requirement %d of statement %s", or(verb, "reviewed"), a.Seq, e.ObjectID)
		if a.Note != "" {
			out += ": " + quoted(a.Note)
		}
		if a.Status == "returned" {
			out += " (the statement went back to the supplier)"
		}
		return out, true
	case "assurance.answer.comment":
		var a struct {
			Seq  int    `json:"seq"`
			Side string `json:"side"`
			Body string `json:"body"`
		}
		doc(e.After, &a)
		return fmt.Sprintf("commented as the %s on requirement %d of statement %s: %s", or(a.Side, "assessor"), a.Seq, e.ObjectID, quoted(a.Body)), true
	case "assurance.statement.accept":
		return "accepted statement " + e.ObjectID + " as reviewed", true
	case "assurance.dispute.raise":
		var a struct{ Dispute, Subject, Reason string }
		doc(e.After, &a)
		return fmt.Sprintf("disputed %s of statement %s (%s): %s", or(a.Subject, "the score"), e.ObjectID, a.Dispute, quoted(a.Reason)), true
	case "assurance.dispute.comment":
		var a struct{ Dispute, Side, Body string }
		doc(e.After, &a)
		return fmt.Sprintf("wrote as the %s in dispute %s of statement %s: %s", or(a.Side, "assessor"), a.Dispute, e.ObjectID, quoted(a.Body)), true
	case "assurance.dispute.answer":
		var a struct {
			Dispute, Decision, Note string
			Seq                     int
			From                    string `json:"review_from"`
			To                      string `json:"review_to"`
		}
		doc(e.After, &a)
		if a.Decision == "amend" {
			return fmt.Sprintf("amended the review of requirement %d of statement %s from %s to %s, answering dispute %s: %s", a.Seq, e.ObjectID, or(a.From, "none"), or(a.To, "none"), a.Dispute, quoted(a.Note)), true
		}
		return fmt.Sprintf("upheld the decision disputed in %s of statement %s: %s", a.Dispute, e.ObjectID, quoted(a.Note)), true
	case "assurance.sharing.set":
		var a struct {
			Level        string
			Products     []string
			Subsidiaries bool
		}
		doc(e.After, &a)
		out := "set supplier " + e.ObjectID + "'s statements to be shared with " + map[string]string{"deployers": "every organisation that deploys it", "products": "only organisations that deploy " + strings.Join(a.Products, ", "), "national": "the national team only"}[a.Level]
		if a.Subsidiaries {
			out += ", standing for its subsidiaries too"
		}
		return out, true
	case "assurance.campaign.edit":
		var b, a struct{ Name, Deadline string }
		doc(e.Before, &b)
		doc(e.After, &a)
		var parts []string
		if a.Name != "" {
			parts = append(parts, "renamed it from "+quoted(b.Name)+" to "+quoted(a.Name))
		}
		if a.Deadline != "" {
			parts = append(parts, "moved its deadline from "+b.Deadline+" to "+a.Deadline)
		}
		return "changed the assurance campaign " + e.ObjectID + ": " + or(strings.Join(parts, " and "), "nothing"), true
	case "assurance.campaign.close":
		var a struct{ Reason string }
		doc(e.After, &a)
		out := "closed the assurance campaign " + e.ObjectID + " (no more answers; reminders stop)"
		if a.Reason != "" {
			out += ": " + quoted(a.Reason)
		}
		return out, true
	case "assurance.statement.remind":
		var a struct {
			Kind, Deadline, Campaign string
			SupplierID               string `json:"supplier_id"`
			Recipients               int
		}
		doc(e.After, &a)
		what := map[string]string{"remind-7": "reminded", "remind-1": "reminded on the last day", "overdue": "sent the overdue notice to"}[a.Kind]
		return fmt.Sprintf("%s supplier %s of statement %s in campaign %s, due %s (%s)", or(what, "reminded"), a.SupplierID, e.ObjectID, a.Campaign, a.Deadline,
			phrase.Count(a.Recipients, "recipient", "recipients")), true
	case "assurance.link.create":
		var a struct {
			Link, Recipient string
			ExpiresAt       string `json:"expires_at"`
		}
		doc(e.After, &a)
		return "made the single-use link " + a.Link + " for " + quoted(a.Recipient) + " to answer statement " + e.ObjectID + ", valid until " + a.ExpiresAt, true
	case "assurance.link.revoke":
		var a struct{ Link, Recipient string }
		doc(e.After, &a)
		return "revoked the single-use link " + a.Link + " for " + quoted(a.Recipient) + " to statement " + e.ObjectID, true
	case "assurance.link.use":
		var a struct{ Link, From string }
		doc(e.After, &a)
		return "used the single-use link " + a.Link + " from " + or(a.From, "an unknown address") + " to open statement " + e.ObjectID, true
	case "intel.collection.create":
		var c struct {
			Title   string `json:"title"`
			Ceiling string `json:"tlp_ceiling"`
		}
		doc(e.After, &c)
		return "created the intelligence collection " + quoted(c.Title) + " (" + e.ObjectID + ", up to " + or(c.Ceiling, "TLP:GREEN") + ")", true
	case "intel.collection.grant", "intel.collection.revoke":
		var g struct {
			Title, Org, Role string
			CanWrite         bool `json:"can_write"`
		}
		doc(e.After, &g)
		who := "everyone at or under " + d.org(g.Org, "")
		if g.Role != "" {
			who = "the " + g.Role + "s at or under " + d.org(g.Org, "")
		}
		if e.Action == "intel.collection.revoke" {
			return "stopped sharing the intelligence collection " + quoted(g.Title) + " (" + e.ObjectID + ") with " + who, true
		}
		what := "to read"
		if g.CanWrite {
			what = "to read and add to"
		}
		return "shared the intelligence collection " + quoted(g.Title) + " (" + e.ObjectID + ") with " + who + ", " + what, true
	case "intel.collection.remove":
		var r struct {
			Title    string   `json:"title"`
			Object   string   `json:"object"`
			Versions []string `json:"versions"`
		}
		doc(e.Before, &r)
		n := "1 version"
		if len(r.Versions) != 1 {
			n = fmt.Sprintf("%d versions", len(r.Versions))
		}
		return "deleted " + n + " of " + r.Object + " from the intelligence collection " + quoted(r.Title) + " (" + e.ObjectID + "); the object stays in the store", true
	case "intel.object.purge":
		var b struct {
			Type                  string
			Versions, Collections int
		}
		var a struct{ Reason string }
		doc(e.Before, &b)
		doc(e.After, &a)
		return fmt.Sprintf("purged the intelligence object %s (%s, %s, from %s) from Vigil altogether: %s",
			e.ObjectID, or(b.Type, "unknown type"), phrase.Count(b.Versions, "version", "versions"), phrase.Count(b.Collections, "collection", "collections"), quoted(a.Reason)), true
	case "intel.object.share":
		var r struct{ Kind, Recipient, TLP string }
		doc(e.After, &r)
		to := "the user " + r.Recipient
		if r.Kind == "org" {
			to = "the people of " + d.org(r.Recipient, "")
		}
		return "named " + to + " a recipient of the " + or(r.TLP, "TLP:RED") + " intelligence object " + e.ObjectID, true
	case "intel.object.link":
		var r struct {
			Relationship string `json:"relationship"`
			Type         string `json:"relationship_type"`
			Target       string `json:"target"`
			TargetName   string `json:"target_name"`
			Collection   string `json:"collection"`
		}
		doc(e.After, &r)
		to := r.Target
		if r.TargetName != "" {
			to = r.TargetName + " (" + r.Target + ")"
		}
		return "linked the intelligence object " + e.ObjectID + " to " + to + " (" + or(r.Type, "related-to") + ", relationship " + r.Relationship + " in collection " + r.Collection + ")", true
	case "intel.object.edit":
		var r struct {
			Changes    map[string]any `json:"changes"`
			Version    string         `json:"version"`
			Collection string         `json:"collection"`
		}
		doc(e.After, &r)
		var what []string
		for _, k := range []string{"confidence", "valid_until", "labels"} {
			v, ok := r.Changes[k]
			switch {
			case !ok:
			case v == nil:
				what = append(what, "removed its "+k)
			default:
				what = append(what, fmt.Sprintf("set its %s to %v", k, v))
			}
		}
		return "edited the indicator " + e.ObjectID + ": " + strings.Join(what, ", ") + " (new version " + r.Version + " in collection " + r.Collection + ")", true
	case "intel.feed.add":
		var f struct {
			Name, Kind, URL, Auth string
			Remote                string `json:"remote_collection"`
			Title                 string `json:"collection_title"`
			Interval              int    `json:"interval_seconds"`
		}
		doc(e.After, &f)
		what := "the TAXII collection " + f.Remote + " at " + quoted(f.URL)
		if f.Kind == "misp" {
			what = "the MISP feed at " + quoted(f.URL)
		}
		return fmt.Sprintf("subscribed the intelligence collection %s to %s as the feed %s (%s), pulled every %s",
			quoted(f.Title), what, quoted(f.Name), e.ObjectID, phrase.Count(f.Interval/60, "minute", "minutes")), true
	case "intel.feed.edit":
		var f struct {
			Feed, Name, URL, Auth, Secret string
			User                          string `json:"auth_user"`
			Remote                        string `json:"remote_collection"`
			Title                         string `json:"collection_title"`
			Interval                      int    `json:"interval_seconds"`
			Page                          int    `json:"page_size"`
			Cleared                       bool   `json:"cursor_cleared"`
		}
		doc(e.After, &f)
		var after map[string]any
		doc(e.After, &after)
		var changes []string
		if _, ok := after["name"]; ok {
			changes = append(changes, "renamed it "+quoted(f.Name))
		}
		if _, ok := after["url"]; ok {
			changes = append(changes, "its URL to "+quoted(f.URL))
		}
		if _, ok := after["remote_collection"]; ok {
			changes = append(changes, "its remote collection to "+f.Remote)
		}
		if _, ok := after["collection"]; ok {
			changes = append(changes, "moved it into the collection "+quoted(f.Title))
		}
		if _, ok := after["auth"]; ok {
			changes = append(changes, "its credentials to "+or(f.Auth, "none"))
		}
		if _, ok := after["auth_user"]; ok {
			changes = append(changes, "its user name to "+quoted(f.User))
		}
		if f.Secret != "" {
			changes = append(changes, "gave it a new password or token")
		}
		if _, ok := after["interval_seconds"]; ok {
			changes = append(changes, "its interval to "+phrase.Count(f.Interval/60, "minute", "minutes"))
		}
		if _, ok := after["page_size"]; ok {
			changes = append(changes, "its page size to "+phrase.Int(f.Page))
		}
		if on, ok := after["enabled"].(bool); ok {
			if on {
				changes = append(changes, "enabled its scheduled pulls")
			} else {
				changes = append(changes, "disabled its scheduled pulls")
			}
		}
		what := strings.Join(changes, ", ")
		if f.Cleared {
			what += "; it starts again from nothing"
		}
		return fmt.Sprintf("changed the intelligence feed %s (%s): %s", quoted(f.Feed), e.ObjectID, or(what, "nothing")), true
	case "intel.feed.remove":
		var f struct {
			Name, URL string
			Title     string `json:"collection_title"`
			Added     int    `json:"objects_added"`
		}
		doc(e.Before, &f)
		return fmt.Sprintf("removed the intelligence feed %s (%s) from %s into the collection %s; the %s it pulled stay",
			quoted(f.Name), e.ObjectID, quoted(f.URL), quoted(f.Title), phrase.Count(f.Added, "object", "objects")), true
	case "intel.allowlist.add":
		var a struct {
			Values, Added         int
			First, Reason, Source string
		}
		doc(e.After, &a)
		what := quoted(a.First)
		if a.Values > 1 {
			what = phrase.Count(a.Values, "value", "values") + " (" + quoted(a.First) + " first)"
		}
		return fmt.Sprintf("allowlisted %s so that no indicator matches them, %s new, from %s: %s",
			what, phrase.Int(a.Added), or(a.Source, "analyst"), quoted(a.Reason)), true
	case "intel.allowlist.remove":
		var a struct {
			Values, Removed int
			First, Reason   string
		}
		doc(e.After, &a)
		what := quoted(a.First)
		if a.Removed > 1 {
			what = phrase.Count(a.Removed, "value", "values") + " (" + quoted(a.First) + " first)"
		}
		why := ""
		if a.Reason != "" {
			why = ": " + quoted(a.Reason)
		}
		return fmt.Sprintf("took %s off the allowlist, so indicators listing them match again%s", what, why), true
	case "intel.decay.model":
		var m struct {
			HalfLifeDays      map[string]float64 `json:"half_life_days"`
			Threshold         float64
			FalsePositiveOrgs int `json:"false_positive_orgs"`
		}
		doc(e.After, &m)
		verb := "defined"
		if len(e.Before) > 0 && string(e.Before) != "null" {
			verb = "changed"
		}
		kinds := make([]string, 0, len(m.HalfLifeDays))
		for k := range m.HalfLifeDays {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		hl := make([]string, len(kinds))
		for i, k := range kinds {
			hl[i] = fmt.Sprintf("%s %g days", k, m.HalfLifeDays[k])
		}
		fp := "never withdrawn by false positives"
		if m.FalsePositiveOrgs > 0 {
			fp = "withdrawn after false positives from " + phrase.Count(m.FalsePositiveOrgs, "organisation", "organisations")
		}
		return fmt.Sprintf("%s the indicator decay model %s: half-lives %s; threshold %g; %s", verb, quoted(e.ObjectID), strings.Join(hl, ", "), m.Threshold, fp), true
	case "intel.decay.default":
		var b, a struct{ Model string }
		doc(e.Before, &b)
		doc(e.After, &a)
		return "made " + quoted(a.Model) + " the default indicator decay model (it was " + quoted(or(b.Model, "standard")) + ")", true
	case "intel.decay.assign":
		var b, a struct{ Model string }
		doc(e.Before, &b)
		doc(e.After, &a)
		if a.Model == "" {
			return "took the decay model " + quoted(b.Model) + " away from the intelligence source " + quoted(e.ObjectID) + ", which follows the default again", true
		}
		return "gave the intelligence source " + quoted(e.ObjectID) + " the decay model " + quoted(a.Model), true
	case "intel.submission.approve", "intel.submission.reject":
		var a struct {
			Collection, Object, Type, Org, Reason string
			Title                                 string `json:"collection_title"`
		}
		doc(e.After, &a)
		what := or(a.Type, "object") + " " + a.Object + " submitted by " + d.org(a.Org, "") + " to the intelligence collection " + quoted(a.Title) + " (" + a.Collection + ")"
		if e.Action == "intel.submission.reject" {
			return "rejected the " + what + ", which leaves the collection: " + quoted(a.Reason), true
		}
		return "approved the " + what + " for every reader of the collection", true
	case "intel.import":
		var a struct {
			Collection                string
			Objects, Added, Unchanged int
			NewVersions               int `json:"new_versions"`
			Refused                   int
		}
		doc(e.After, &a)
		into := ""
		if a.Collection != "" {
			into = " into collection " + a.Collection
		}
		return fmt.Sprintf("imported %s of threat intelligence from %s%s: %s new, %s new versions, %s unchanged, %s refused",
			phrase.Count(a.Objects, "STIX object", "STIX objects"), quoted(e.ObjectID), into,
			phrase.Int(a.Added), phrase.Int(a.NewVersions), phrase.Int(a.Unchanged), phrase.Int(a.Refused)), true
	case "events.export":
		var x struct{ Query, Since, Until, Org, Format string }
		doc(e.After, &x)
		what := "every event"
		if strings.TrimSpace(x.Query) != "" {
			what = "the events matching " + quoted(x.Query)
		}
		if x.Org != "" {
			what += " of " + d.org(x.Org, "")
		}
		switch {
		case len(x.Since) >= 16 && len(x.Until) >= 16:
			what += " from " + x.Since[:10] + " " + x.Since[11:16] + " to " + x.Until[:10] + " " + x.Until[11:16] + " UTC"
		case len(x.Since) >= 16:
			what += " since " + x.Since[:10] + " " + x.Since[11:16] + " UTC"
		}
		return "exported " + what + " as " + strings.ToUpper(or(x.Format, "ndjson")), true
	case "supply.import":
		var a struct {
			Files  []struct{} `json:"files"`
			Tables []struct {
				Table     string `json:"table"`
				Created   int    `json:"created"`
				Updated   int    `json:"updated"`
				Unchanged int    `json:"unchanged"`
			} `json:"tables"`
		}
		doc(e.After, &a)
		var parts []string
		for _, t := range a.Tables {
			var c []string
			if t.Created > 0 {
				c = append(c, phrase.Int(t.Created)+" created")
			}
			if t.Updated > 0 {
				c = append(c, phrase.Int(t.Updated)+" updated")
			}
			if len(c) > 0 {
				parts = append(parts, tableWord(t.Table)+" "+strings.Join(c, ", "))
			}
		}
		s := "imported the supplier register"
		if len(a.Files) > 0 {
			s += " from " + phrase.Count(len(a.Files), "file", "")
		}
		if len(parts) == 0 {
			return s + " (nothing changed)", true
		}
		return s + ": " + strings.Join(parts, "; "), true
	case "supply.snapshot":
		var a struct {
			Rows int `json:"rows"`
		}
		doc(e.After, &a)
		return "took a concentration snapshot (" + phrase.Count(a.Rows, "row", "") + ")", true
	case "supply.supplier.put", "supply.product.put", "supply.contract.put":
		kind := map[string]string{"supply.supplier.put": "supplier", "supply.product.put": "product", "supply.contract.put": "contract"}[e.Action]
		var a struct {
			Name string `json:"name"`
		}
		doc(e.After, &a)
		what := "the " + kind + " " + named(a.Name, e.ObjectID)
		if kind == "contract" {
			var c struct {
				Org      string `json:"org_ods"`
				Supplier string `json:"supplier_id"`
			}
			doc(e.After, &c)
			what = "the contract " + e.ObjectID + " of " + d.org(c.Org, "") + " with supplier " + c.Supplier
		}
		if len(e.Before) == 0 {
			return "added " + what + " to the register", true
		}
		return "changed " + what + d.fieldChanges(e.Before, e.After, ":"), true
	case "supply.product.delete":
		var b struct {
			Name string `json:"name"`
		}
		doc(e.Before, &b)
		return "removed the product " + named(b.Name, e.ObjectID) + " from the register", true
	case "supply.dependency.put", "supply.dependency.delete":
		var x struct {
			Product   string `json:"product_id"`
			DependsOn string `json:"depends_on_product_id"`
			Kind      string `json:"kind"`
			Critical  bool   `json:"critical"`
		}
		if !doc(e.After, &x) {
			doc(e.Before, &x)
		}
		if x.Product == "" {
			x.Product, x.DependsOn, _ = strings.Cut(e.ObjectID, "->")
		}
		if e.Action == "supply.dependency.delete" {
			return "removed the dependency of product " + x.Product + " on " + x.DependsOn, true
		}
		how := []string{}
		if x.Kind != "" {
			how = append(how, x.Kind)
		}
		if x.Critical {
			how = append(how, "critical")
		} else {
			how = append(how, "not critical")
		}
		return "recorded that product " + x.Product + " depends on " + x.DependsOn + " (" + strings.Join(how, ", ") + ")", true
	case "supply.vuln.put", "supply.vuln.delete":
		product, cve, _ := strings.Cut(e.ObjectID, "/")
		if e.Action == "supply.vuln.delete" {
			return "removed " + cve + " from product " + product, true
		}
		var v struct {
			Component string `json:"component"`
		}
		doc(e.After, &v)
		s := "recorded " + cve + " in product " + product
		if v.Component != "" {
			s += " (component " + clip(v.Component) + ")"
		}
		return s, true
	case "supply.deployment.put", "supply.deployment.delete":
		var x struct {
			Org         string `json:"org_ods"`
			Product     string `json:"product_id"`
			Service     string `json:"service"`
			Criticality string `json:"criticality"`
			HasFallback bool   `json:"has_fallback"`
		}
		if !doc(e.After, &x) {
			doc(e.Before, &x)
		}
		if x.Org == "" {
			parts := strings.SplitN(e.ObjectID, "/", 3)
			for len(parts) < 3 {
				parts = append(parts, "")
			}
			x.Org, x.Product, x.Service = parts[0], parts[1], parts[2]
		}
		use := "the use of product " + x.Product + " by " + d.org(x.Org, "") + " for " + x.Service
		switch {
		case e.Action == "supply.deployment.delete":
			return "removed " + use, true
		case len(e.Before) > 0:
			return "changed " + use + d.fieldChanges(e.Before, e.After, ":"), true
		}
		fallback := "no fallback"
		if x.HasFallback {
			fallback = "with a fallback"
		}
		return "recorded " + use + " (" + or(x.Criticality, "criticality not given") + ", " + fallback + ")", true
	case "geo.import":
		var a struct {
			Levels  map[string]int `json:"levels"`
			Created int            `json:"created"`
			Updated int            `json:"updated"`
		}
		doc(e.After, &a)
		var lv []string
		for _, k := range sortedKeys(a.Levels) {
			switch k {
			case "icb":
				lv = append(lv, phrase.Count(a.Levels[k], "ICB", ""))
			case "region":
				lv = append(lv, phrase.Count(a.Levels[k], "region", ""))
			default:
				lv = append(lv, phrase.Int(a.Levels[k])+" "+k)
			}
		}
		s := "imported map boundaries from " + clip(e.ObjectID)
		if len(lv) > 0 {
			s += " (" + strings.Join(lv, ", ") + ": " + phrase.Int(a.Created) + " created, " + phrase.Int(a.Updated) + " updated)"
		}
		return s, true
	case "audit.keyed":
		var a struct {
			Unkeyed int64 `json:"unkeyed_entries"`
		}
		doc(e.After, &a)
		s := "began keying the audit chain with audit key " + e.ObjectID
		if a.Unkeyed > 0 {
			s += " (its MAC also binds the " + phrase.Count(a.Unkeyed, "entry", "entries") + " before it)"
		}
		return s, true
	}
	return "", false
}

// newcomer names a user who has just been created.
// clockWords names a case clock in a sentence.
func clockWords(k string) string {
	switch k {
	case "ack":
		return "acknowledge clock"
	case "respond":
		return "respond clock"
	case "resolve":
		return "resolve clock"
	case "nis":
		return "NIS incident report clock"
	case "ico":
		return "ICO breach report clock"
	}
	return or(k, "a") + " clock"
}

func (d describer) newcomer(u userDoc) string {
	switch {
	case u.Name != "" && u.Email != "" && !strings.EqualFold(u.Name, u.Email):
		return clip(u.Name) + " (" + clip(u.Email) + ")"
	case u.Email != "":
		return clip(u.Email)
	}
	return d.person(d.e.ObjectID, u.Name, "")
}

// grants lists roles on organisations: "org-analyst on Guy's … (RJ1)".
func (d describer) grants(gs []grantDoc) string {
	if len(gs) == 0 {
		return "no role"
	}
	s := make([]string, len(gs))
	for i, g := range gs {
		s[i] = g.Role + " on " + d.org(g.Org, "")
	}
	return andList(s)
}

// grantDiff is what have holds that lack does not; when nothing differs
// (a grant already held, a revoke of one not held) it is have's grants
// on org, the organisation the entry is filed under.
func grantDiff(have, lack []grantDoc, org string) []grantDoc {
	held := map[grantDoc]bool{}
	for _, g := range lack {
		held[g] = true
	}
	var out []grantDoc
	for _, g := range have {
		if !held[g] {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		for _, g := range have {
			if g.Org == org {
				out = append(out, g)
			}
		}
	}
	return out
}

// userChange says what an update of a user did.
func (d describer) userChange(b, a userDoc) string {
	id := or(a.ID, d.e.ObjectID)
	self := id == d.e.ActorID
	target := d.person(id, or(b.Name, a.Name), or(b.Email, a.Email))
	var did []string
	if b.Name != "" && a.Name != "" && b.Name != a.Name {
		if self {
			did = append(did, "changed their name to “"+clip(a.Name)+"”")
		} else {
			did = append(did, "renamed "+clip(b.Name)+" to “"+clip(a.Name)+"”")
			target = "them"
		}
	}
	switch {
	case !b.Disabled && a.Disabled:
		did = append(did, "disabled "+target+" (signed out everywhere)")
	case b.Disabled && !a.Disabled:
		did = append(did, "enabled "+target)
	}
	if a.PasswordChanged {
		if self {
			did = append(did, "changed their own password")
		} else {
			did = append(did, "reset the password of "+target+" (signed out everywhere, API tokens revoked)")
		}
	}
	if len(did) == 0 {
		return "changed the account of " + target
	}
	return andList(did)
}

// orgChange says what an update of an organisation did.
func (d describer) orgChange(b, a orgDoc) string {
	code := or(a.Code, d.e.ObjectID)
	this := d.org(code, or(b.Name, a.Name))
	var did []string
	if b.Name != "" && a.Name != "" && b.Name != a.Name {
		did = append(did, "renamed "+clip(b.Name)+" ("+code+") to “"+clip(a.Name)+"”")
		this = code
	}
	if b.Parent != a.Parent && a.Parent != "" {
		did = append(did, "moved "+this+" from "+d.org(b.Parent, "")+" to "+d.org(a.Parent, ""))
		this = code
	}
	switch {
	case b.Status == "active" && a.Status != "" && a.Status != "active":
		did = append(did, "closed "+this)
	case b.Status != "" && b.Status != "active" && a.Status == "active":
		did = append(did, "reopened "+this)
	}
	rest := d.fieldChanges(d.e.Before, d.e.After, ":", "name", "parent", "status", "path", "region", "icb")
	if len(did) == 0 {
		return "changed " + this + rest
	}
	s := andList(did)
	if rest != "" {
		s += "; also" + rest
	}
	return s
}

// fieldChanges lists the top-level members that differ between two JSON
// objects, as ": country GB → IE, contacts" (after sep), leaving out
// updated_at and the members named in skip; "" when none differ.
func (d describer) fieldChanges(before, after json.RawMessage, sep string, skip ...string) string {
	var b, a map[string]any
	if !doc(before, &b) || !doc(after, &a) {
		return ""
	}
	skipped := map[string]bool{"updated_at": true}
	for _, k := range skip {
		skipped[k] = true
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		if skipped[k] {
			continue
		}
		bv, av := b[k], a[k]
		bj, _ := json.Marshal(bv)
		aj, _ := json.Marshal(av)
		if string(bj) == string(aj) {
			continue
		}
		field := strings.ReplaceAll(k, "_", " ")
		bs, bok := scalar(bv)
		as, aok := scalar(av)
		if bok && aok && utf8.RuneCountInString(bs)+utf8.RuneCountInString(as) <= 80 {
			out = append(out, field+" "+bs+" → "+as)
		} else {
			out = append(out, field)
		}
	}
	if len(out) == 0 {
		return ""
	}
	if sep == "" {
		return " (" + strings.Join(out, ", ") + ")"
	}
	return sep + " " + strings.Join(out, ", ")
}

// export says what was taken away.
func (d describer) export() string {
	e := d.e
	switch e.ObjectType {
	case "supply_register":
		var a map[string]int
		doc(e.After, &a)
		var parts []string
		for _, k := range []string{"suppliers", "products", "dependencies", "deployments", "vulns", "contracts"} {
			if n, ok := a[k]; ok {
				parts = append(parts, tableCount(k, n))
			}
		}
		s := "exported the supplier register"
		if len(parts) > 0 {
			s += " (" + strings.Join(parts, ", ") + ")"
		}
		return s
	case "supply_impact":
		var a struct {
			Query  string `json:"query"`
			Format string `json:"format"`
			Rows   int    `json:"rows"`
		}
		doc(e.After, &a)
		s := "downloaded the blast radius"
		if q := queryWords(a.Query); q != "" {
			s += " of " + q
		}
		if a.Format != "" {
			s += " as " + strings.ToUpper(a.Format)
		}
		if a.Rows > 0 {
			s += " (" + phrase.Count(a.Rows, "row", "") + ")"
		}
		return s
	case "supply_picture":
		var a struct {
			Picture string `json:"picture"`
			Format  string `json:"format"`
			Query   string `json:"query"`
		}
		doc(e.After, &a)
		s := "downloaded the picture " + or(clip(a.Picture), e.ObjectID)
		if q := queryWords(a.Query); q != "" {
			s += " of " + q
		}
		if a.Format != "" {
			s += " as " + strings.ToUpper(a.Format)
		}
		return s
	}
	s := "exported " + strings.ReplaceAll(or(e.ObjectType, "data"), "_", " ")
	if e.ObjectID != "" {
		s += " " + clip(e.ObjectID)
	}
	return s + numbers(e.After)
}

// queryWords reads an encoded query as "supplier DEMO-PATH, level icb".
func queryWords(q string) string {
	v, err := url.ParseQuery(q)
	if err != nil || len(v) == 0 {
		return clip(q)
	}
	var out []string
	for _, k := range sortedKeys(v) {
		if k == "download" || k == "format" {
			continue
		}
		out = append(out, k+" "+strings.Join(v[k], ", "))
	}
	return clip(strings.Join(out, ", "))
}

// numbers lists the whole-number members of a JSON object as
// " (9,053 created, 38 updated)", in name order; "" when it has none.
func numbers(raw json.RawMessage) string {
	var m map[string]any
	if !doc(raw, &m) {
		return ""
	}
	var out []string
	for _, k := range sortedKeys(m) {
		if f, ok := m[k].(float64); ok && f == float64(int64(f)) {
			out = append(out, phrase.Int(int64(f))+" "+strings.ReplaceAll(k, "_", " "))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, ", ") + ")"
}

var tableWords = map[string][2]string{
	"suppliers":     {"supplier", "suppliers"},
	"products":      {"product", "products"},
	"dependencies":  {"dependency", "dependencies"},
	"deployments":   {"deployment", "deployments"},
	"vulns":         {"vulnerability", "vulnerabilities"},
	"product_vulns": {"vulnerability", "vulnerabilities"},
	"contracts":     {"contract", "contracts"},
}

func tableWord(t string) string {
	if w, ok := tableWords[t]; ok {
		return w[1]
	}
	return strings.ReplaceAll(t, "_", " ")
}

func tableCount(t string, n int) string {
	if w, ok := tableWords[t]; ok {
		return phrase.Count(n, w[0], w[1])
	}
	return phrase.Int(n) + " " + t
}

func seconds(s int) string {
	switch {
	case s < 90:
		return phrase.Count(s, "second", "")
	case s < 90*60:
		return phrase.Count((s+30)/60, "minute", "")
	}
	return phrase.Count((s+1800)/3600, "hour", "")
}

// scalar is a JSON value short enough to quote in a sentence.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "(none)", true
	case string:
		if x == "" {
			return "(none)", true
		}
		return clip(x), true
	case bool:
		if x {
			return "yes", true
		}
		return "no", true
	case float64:
		if x == float64(int64(x)) {
			return phrase.Int(int64(x)), true
		}
		return fmt.Sprint(x), true
	}
	return "", false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func andList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// named is "Name (ID)", or the ID alone.
func named(name, id string) string {
	if name == "" || name == id {
		return id
	}
	return clip(name) + " (" + id + ")"
}

// clip bounds a stored value quoted in a sentence, and drops control
// characters (the CLI escapes them anyway; a sentence is one line).
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > 80 {
		r := []rune(s)
		return string(r[:79]) + "…"
	}
	return s
}

// quoted puts a person's own name for something in curly quotes.
func quoted(s string) string { return "“" + clip(s) + "”" }

// orNone lists event kinds, or says there are none.
func orNone(kinds []string) string {
	if len(kinds) == 0 {
		return "nothing"
	}
	return strings.Join(kinds, ", ")
}

// rule describes a change to the stored Sigma rules (internal/rules).
func (d describer) rule() string {
	e := d.e
	rule := "the detection rule " + e.ObjectID
	where := "for every organisation"
	if e.Org != "" {
		where = "for " + d.org(e.Org, "")
	}
	var b, a struct {
		Enabled   string   `json:"enabled"`
		Level     string   `json:"level"`
		Version   int      `json:"version"`
		Note      string   `json:"note"`
		Files     int      `json:"files"`
		Added     []string `json:"added"`
		Updated   []string `json:"updated"`
		Exception string   `json:"exception"`
		Reason    string   `json:"reason"`
		Expires   string   `json:"expires_at"`
	}
	doc(e.Before, &b)
	doc(e.After, &a)
	note := ""
	if strings.TrimSpace(a.Note) != "" {
		note = " (" + quoted(a.Note) + ")"
	}
	switch e.Action {
	case "rule.import":
		return fmt.Sprintf("imported the detection rule pack %s: %s read, %s new, %s changed%s", quoted(e.ObjectID),
			phrase.Count(a.Files, "file", "files"), phrase.Int(len(a.Added)), phrase.Int(len(a.Updated)), note)
	case "rule.save":
		return fmt.Sprintf("saved version %d of %s%s", a.Version, rule, note)
	case "rule.enable":
		if a.Enabled == "on" {
			return "enabled " + rule + " " + where
		}
		return "disabled " + rule + " " + where
	case "rule.level":
		if a.Level == "" {
			return "removed the level override of " + rule + " " + where
		}
		return "set the level of " + rule + " to " + a.Level + " " + where
	case "rule.reset":
		return "reset the settings of " + rule + " " + where + " (it follows the global ones again)"
	case "rule.except":
		until := ""
		if len(a.Expires) >= 10 {
			until = " until " + a.Expires[:10]
		}
		return "added the exception " + a.Exception + " to " + rule + " " + where + until + reasonText(a.Reason)
	default: // rule.unexcept
		return "removed the exception " + b.Exception + " from " + rule + " " + where
	}
}

// reasonText is ": because …" for a reason given, or nothing.
func reasonText(r string) string {
	if strings.TrimSpace(r) == "" {
		return ""
	}
	return ", because " + quoted(r)
}

// vulnSBOM describes the stored SBOM and inventory actions (issue 18).
func (d describer) vulnSBOM() string {
	e := d.e
	var a struct {
		Product, Version, Org, Name, Format, Criticality, Exposure, Mode string
		Components, Advisories, Changed, SBOMs, Rewritten, Findings      int
	}
	if !doc(e.After, &a) {
		doc(e.Before, &a)
	}
	switch e.Action {
	case "vuln.sbom.add":
		return fmt.Sprintf("stored the SBOM %s of product %s version %s (%s, %s, %s)", e.ObjectID, a.Product, a.Version, quoted(a.Name), a.Format,
			phrase.Count(a.Components, "component", "components"))
	case "vuln.sbom.delete":
		return fmt.Sprintf("removed the SBOM %s of product %s version %s (%s) and its findings", e.ObjectID, a.Product, a.Version, quoted(a.Name))
	case "vuln.inventory.add":
		out := fmt.Sprintf("stored the inventory %s %s of %s (%s, %s", e.ObjectID, quoted(a.Name), d.org(or(a.Org, e.Org), ""), a.Format,
			phrase.Count(a.Components, "component", "components"))
		if a.Criticality != "" {
			out += ", criticality " + a.Criticality
		}
		if a.Exposure != "" {
			out += ", exposure " + a.Exposure
		}
		return out + ")"
	case "vuln.inventory.delete":
		return fmt.Sprintf("removed the inventory %s %s of %s and its findings", e.ObjectID, quoted(a.Name), d.org(or(a.Org, e.Org), ""))
	default: // vuln.match
		return fmt.Sprintf("matched the stored SBOMs against the OSV directory %s (%s): %s, %s changed, %s of %s written again, %s",
			quoted(e.ObjectID), or(a.Mode, "full"), phrase.Count(a.Advisories, "advisory", "advisories"), phrase.Int(a.Changed),
			phrase.Int(a.Rewritten), phrase.Count(a.SBOMs, "SBOM", "SBOMs"), phrase.Count(a.Findings, "finding", "findings"))
	}
}

// vulnFinding describes the findings workflow and stored VEX (issue 18).
func (d describer) vulnFinding() string {
	e := d.e
	var a struct {
		Owner, Component, Vuln, Priority, Reason, Expires, Resolution string
		Kind, Product, Org, Name, Format                              string
		Statements, Suppressed                                        int
		Bulk                                                          bool
	}
	if !doc(e.After, &a) {
		doc(e.Before, &a)
	}
	what := func() string {
		out := "the finding " + or(a.Vuln, e.ObjectID) + " in " + or(a.Component, "?") + " (" + or(a.Priority, "?") + ") of " + or(a.Owner, "?")
		if a.Bulk {
			out += ", with others at once"
		}
		return out
	}
	owner := "organisation " + d.org(or(a.Org, e.Org), "")
	if a.Kind == "product" {
		owner = "product " + a.Product
	}
	switch e.Action {
	case "vuln.finding.acknowledge":
		return "acknowledged " + what()
	case "vuln.finding.accept":
		day := a.Expires
		if len(day) >= 10 {
			day = day[:10]
		}
		return "accepted the risk of " + what() + " until " + day + ", because " + quoted(a.Reason)
	case "vuln.finding.close":
		out := "closed " + what() + " as " + strings.ReplaceAll(or(a.Resolution, "?"), "-", " ")
		if a.Reason != "" {
			out += ": " + quoted(a.Reason)
		}
		return out
	case "vuln.finding.reopen":
		return "reopened " + what()
	case "vuln.vex.add":
		return fmt.Sprintf("stored the VEX %s %s (%s, %s) for %s", e.ObjectID, quoted(a.Name), a.Format, phrase.Count(a.Statements, "statement", "statements"), owner)
	default: // vuln.vex.delete
		return fmt.Sprintf("removed the VEX %s %s of %s (it suppressed %s)", e.ObjectID, quoted(a.Name), owner, phrase.Count(a.Suppressed, "finding", "findings"))
	}
}

// cyberAlert describes the national cyber alert actions (issue 18).
func (d describer) cyberAlert() string {
	e := d.e
	alert := "national cyber alert " + e.ObjectID
	var a struct {
		Title, Severity, Path, Action, Text, Applicability, Clock string
		Organisations                                             int
		Bulk                                                      bool
	}
	doc(e.After, &a)
	who := d.org(e.Org, "")
	switch e.Action {
	case "cyberalert.issue":
		return fmt.Sprintf("issued %s %s (%s) to %s", alert, quoted(a.Title), a.Severity, phrase.Count(a.Organisations, "organisation", "organisations"))
	case "cyberalert.scope":
		return "put " + who + " in the scope of " + alert + ": " + a.Path
	case "cyberalert.acknowledge":
		return "acknowledged " + alert + " for " + who
	case "cyberalert.applicability":
		out := "said " + alert + " is " + strings.ReplaceAll(or(a.Applicability, "?"), "-", " ") + " for " + who
		if strings.TrimSpace(a.Text) != "" {
			out += ": " + quoted(a.Text)
		}
		return out
	case "cyberalert.update":
		return "gave a remediation update on " + alert + " for " + who + ": " + quoted(a.Text)
	case "cyberalert.close":
		return "closed " + alert + " for " + who + " with the evidence " + quoted(a.Text)
	case "cyberalert.unscope":
		return "took " + who + " out of the scope of " + alert + ": the register no longer puts it there (its row and answers are kept)"
	case "cyberalert.remind":
		return "reminded " + who + " of " + alert + " (the " + or(a.Clock, "response") + " clock)"
	default: // cyberalert.escalate
		if a.Clock == "update_escalated_at" {
			return "escalated " + alert + " to the region: " + who + " gave no first remediation update in time"
		}
		return "escalated " + alert + " to the region: " + who + " missed the " + or(a.Clock, "acknowledgement") + " clock"
	}
}

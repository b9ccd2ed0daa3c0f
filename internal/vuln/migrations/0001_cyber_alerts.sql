-- National cyber alerts (issue 18, items 7–9). cyber_alerts holds what the
-- national team issued; cyber_alert_orgs one row per organisation in scope,
-- with where it sits (ICB, region, type) for the dashboard, the path that
-- put it in scope, its clocks (ack_due: 48 hours from issue; update_due:
-- the next remediation update, first 3 days from issue) and its answers;
-- cyber_alert_responses every answer, in order. Times are UTC text as in
-- the cases tables (comparing the text compares the times).
CREATE TABLE cyber_alerts (
	id TEXT PRIMARY KEY,
	title TEXT NOT NULL,
	severity TEXT NOT NULL,
	cves TEXT NOT NULL,
	products TEXT NOT NULL,
	required_action TEXT NOT NULL,
	deadline TEXT NOT NULL,
	tlp TEXT NOT NULL,
	issued_by TEXT NOT NULL,
	issued_at TEXT NOT NULL
);
CREATE INDEX cyber_alerts_issued ON cyber_alerts (issued_at);
CREATE TABLE cyber_alert_orgs (
	alert_id TEXT NOT NULL,
	org TEXT NOT NULL,
	name TEXT NOT NULL,
	org_type TEXT NOT NULL DEFAULT '',
	icb TEXT NOT NULL DEFAULT '',
	icb_name TEXT NOT NULL DEFAULT '',
	region TEXT NOT NULL DEFAULT '',
	region_name TEXT NOT NULL DEFAULT '',
	path TEXT NOT NULL,
	path_nodes TEXT NOT NULL,
	ack_due TEXT NOT NULL,
	ack_at TEXT NOT NULL DEFAULT '',
	ack_by TEXT NOT NULL DEFAULT '',
	applicability TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	update_due TEXT NOT NULL,
	first_update_at TEXT NOT NULL DEFAULT '',
	last_update_at TEXT NOT NULL DEFAULT '',
	closed_at TEXT NOT NULL DEFAULT '',
	closed_by TEXT NOT NULL DEFAULT '',
	evidence TEXT NOT NULL DEFAULT '',
	notified_at TEXT NOT NULL DEFAULT '',
	ack_reminded_at TEXT NOT NULL DEFAULT '',
	ack_escalated_at TEXT NOT NULL DEFAULT '',
	update_reminded_at TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (alert_id, org)
);
CREATE INDEX cyber_alert_orgs_org ON cyber_alert_orgs (org);
CREATE INDEX cyber_alert_orgs_ack ON cyber_alert_orgs (ack_at, ack_due);
CREATE TABLE cyber_alert_responses (
	id TEXT PRIMARY KEY,
	alert_id TEXT NOT NULL,
	org TEXT NOT NULL,
	action TEXT NOT NULL,
	applicability TEXT NOT NULL DEFAULT '',
	body TEXT NOT NULL DEFAULT '',
	by_name TEXT NOT NULL,
	at TEXT NOT NULL
);
CREATE INDEX cyber_alert_responses_alert ON cyber_alert_responses (alert_id, org, at);

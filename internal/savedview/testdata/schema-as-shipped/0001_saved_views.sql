-- Saved views of the alerts inbox: a person's named filters (views.go).
-- A schema of its own (domain "cases-views") so that its numbering never
-- meets the cases schema's, which several people extend at once.
CREATE TABLE alert_views (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	name TEXT NOT NULL,
	query TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX alert_views_user_name ON alert_views (user_id, name);

-- Saved views of every kind (savedview.go): the inbox's views of 0001 become
-- kind 'inbox' beside the events page's saved searches. The set keeps its
-- domain name, "cases-views", because that is what databases have recorded.
ALTER TABLE alert_views RENAME TO saved_views;
ALTER TABLE saved_views ADD COLUMN kind TEXT NOT NULL DEFAULT 'inbox';
DROP INDEX alert_views_user_name;
CREATE UNIQUE INDEX saved_views_user_kind_name ON saved_views (user_id, kind, name);

-- Feeds, continued (issue 19 item 4). auth_secret now holds the secret
-- sealed (package seal: XChaCha20-Poly1305 under the key in
-- <data-dir>/secrets.key, bound to the feed's id); rows kept in clear
-- text before are sealed when a server starts. consecutive_failures
-- counts the failed pulls since the last success, for the back-off
-- (next_run); enabled feeds alone are pulled by the scheduler.
ALTER TABLE intel_feeds ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE intel_feeds ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE;

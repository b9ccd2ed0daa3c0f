-- vigil_in_cidr(value, prefix) is a Go function registered with the
-- SQLite driver (internal/events/cidr.go); nothing to create here. The
-- file keeps the two dialects' migration numbers in step.
SELECT 1;

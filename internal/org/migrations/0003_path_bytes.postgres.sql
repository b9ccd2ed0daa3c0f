-- scope.Filter turns a grant into a range on the materialised path
-- (path >= '/ENG/Y56/' AND path < '/ENG/Y560'), which holds only in byte
-- order. SQLite compares TEXT by bytes already (nothing to do there: this
-- step is PostgreSQL's alone); PostgreSQL compares by the database's
-- collation unless the column says "C". Databases made before this step
-- have the column "C" already (a PostgreSQL copy of 0001 made it so), and
-- the statement leaves them as they are.
ALTER TABLE orgs ALTER COLUMN path TYPE TEXT COLLATE "C";

-- Sites removed from accounts.db, by id. A removal writes its tombstone in the
-- same transaction that deletes the site's rows, and every batch write refuses
-- events for a tombstoned id. An event checked against the site before the
-- removal, but committed after it, so never lands under the old id. Ids are
-- never reused (AUTOINCREMENT in accounts.db), so a tombstone stays for good.
CREATE TABLE removed_sites (
    site_id INTEGER PRIMARY KEY,
    removed_at INTEGER NOT NULL
);

-- The latest time housekeeping trusted (Unix seconds), a high-water mark.
-- Retention is counted from it, not from a clock that jumped ahead; events
-- stamped by such a clock move it only once they span a week (store.prune).
CREATE TABLE clock_mark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    trusted INTEGER NOT NULL
);

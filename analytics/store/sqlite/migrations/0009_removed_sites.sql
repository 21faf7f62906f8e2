-- Sites removed from accounts.db, by id. A removal writes its tombstone in the
-- same transaction that deletes the site's rows, and every batch write refuses
-- events for a tombstoned id. An event checked against the site before the
-- removal, but committed after it, so never lands under the old id. Ids are
-- never reused (AUTOINCREMENT in accounts.db), so a tombstone stays for good.
CREATE TABLE removed_sites (
    site_id INTEGER PRIMARY KEY,
    removed_at INTEGER NOT NULL
);

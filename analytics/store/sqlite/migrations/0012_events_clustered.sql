-- Storage and filtered views (issue 11): `events` is clustered on (site_id, ts, id)
-- as a WITHOUT ROWID table, so a site's range is one run of table pages and the
-- separate (site_id, ts) index, about 14 bytes per event, goes. Event ids stay
-- (exports and tests order by them); with no rowid to hand them out, the writer
-- takes them from `event_ids`.
CREATE TABLE events_clustered (
    site_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    id INTEGER NOT NULL,
    session_id INTEGER NOT NULL,
    name INTEGER NOT NULL,
    hostname INTEGER NOT NULL,
    page INTEGER NOT NULL,
    props TEXT,                        -- JSON object of strings, NULL when none
    scroll_depth INTEGER,              -- engagement: max scroll %, NULL when unknown
    engaged_ms INTEGER,                -- engagement: engaged time since the last send
    interactive INTEGER NOT NULL,
    revenue REAL,
    currency TEXT,
    words INTEGER,                     -- engagement: the page's length in words
    read INTEGER,                      -- engagement: 1 when it made its pageview read
    PRIMARY KEY (site_id, ts, id)
) WITHOUT ROWID;
INSERT INTO events_clustered (
    site_id, ts, id, session_id, name, hostname, page, props, scroll_depth, engaged_ms, interactive, revenue,
    currency, words, read)
SELECT site_id, ts, id, session_id, name, hostname, page, props, scroll_depth, engaged_ms, interactive, revenue,
    currency, words, read
FROM events ORDER BY site_id, ts, id;
DROP TABLE events;
ALTER TABLE events_clustered RENAME TO events;

-- The next event id: one row, advanced by each batch in its own transaction.
CREATE TABLE event_ids (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    next INTEGER NOT NULL
);
INSERT INTO event_ids (one, next) SELECT 1, COALESCE(MAX(id), 0) + 1 FROM events;

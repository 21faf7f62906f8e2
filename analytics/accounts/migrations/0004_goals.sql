-- Goals an owner defines per site: a custom event by its name, or a visit to a
-- page, by a path pattern where * stands for any run of characters.
CREATE TABLE goals (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('event', 'page')),
    value TEXT NOT NULL,            -- the event name, or the page path pattern
    created_at INTEGER NOT NULL,
    UNIQUE (site_id, kind, value)
);

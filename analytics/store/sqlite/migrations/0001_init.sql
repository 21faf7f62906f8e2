-- Accounts, sites and keys.
CREATE TABLE sites (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    created_at INTEGER NOT NULL,
    honor_signals INTEGER NOT NULL DEFAULT 1,   -- drop events carrying Sec-GPC: 1 or DNT: 1
    allowed_params TEXT NOT NULL DEFAULT '',    -- comma list of query parameters kept in paths
    excluded_paths TEXT NOT NULL DEFAULT '',    -- comma list of path patterns not counted
    share_token TEXT UNIQUE,
    share_password_hash TEXT
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE site_roles (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'viewer')),
    PRIMARY KEY (site_id, user_id)
) WITHOUT ROWID;

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,   -- SHA-256 of the key; the key itself is shown once
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Daily salts, keyed by UTC day number. Only today's and yesterday's exist.
CREATE TABLE salts (
    day INTEGER PRIMARY KEY,
    salt BLOB NOT NULL
);

-- Interned strings (paths, hosts, names, sources...): events and rollups store ids.
CREATE TABLE strings (
    id INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
);
INSERT INTO strings (id, value) VALUES (0, '');

-- One row per visit. Attributes are first-touch; visitor_id is day-scoped.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL,
    visitor_id INTEGER NOT NULL,
    day INTEGER NOT NULL,              -- site-local calendar day (date ordinal) the visit started on
    start INTEGER NOT NULL,
    last INTEGER NOT NULL,             -- last event of any kind: the 30-minute timeout runs from here
    last_action INTEGER NOT NULL,      -- last pageview or custom event: the visit duration ends here
    entry_page INTEGER NOT NULL,
    exit_page INTEGER NOT NULL,
    pageviews INTEGER NOT NULL,
    events INTEGER NOT NULL,
    interactive INTEGER NOT NULL,      -- interactive custom events
    channel INTEGER NOT NULL,
    source INTEGER NOT NULL,
    referrer INTEGER NOT NULL,
    utm_source INTEGER NOT NULL,
    utm_medium INTEGER NOT NULL,
    utm_campaign INTEGER NOT NULL,
    utm_content INTEGER NOT NULL,
    utm_term INTEGER NOT NULL,
    country TEXT NOT NULL,
    device INTEGER NOT NULL,
    browser INTEGER NOT NULL,
    browser_version INTEGER NOT NULL,
    os INTEGER NOT NULL,
    os_version INTEGER NOT NULL,
    screen INTEGER NOT NULL,
    state TEXT NOT NULL                -- per-page and per-goal marks used to keep rollups exact
);
-- The writer looks visits up by visitor id for a whole batch, across sites.
CREATE INDEX sessions_visitor ON sessions (visitor_id);
CREATE INDEX sessions_start ON sessions (site_id, start);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    session_id INTEGER NOT NULL,
    name INTEGER NOT NULL,
    hostname INTEGER NOT NULL,
    page INTEGER NOT NULL,
    props TEXT,                        -- JSON object of strings, NULL when none
    scroll_depth INTEGER,              -- engagement: max scroll %, NULL when unknown
    engaged_ms INTEGER,                -- engagement: engaged time since the last send
    interactive INTEGER NOT NULL,
    revenue REAL,
    currency TEXT
);
CREATE INDEX events_site_ts ON events (site_id, ts);

-- Rollups, written in the same transaction as the events, in 15-minute UTC
-- buckets (bucket = ts / 900) so any time zone re-buckets exactly.
-- Session-level figures sit at the bucket of the session's start.
-- `visitors` credits a visitor once per full key; in tables keyed by several
-- columns, `v_<column>` credits them once per value of that column alone, so a
-- breakdown by one column never counts a visitor twice.
CREATE TABLE rollup_totals (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,
    time_total INTEGER NOT NULL DEFAULT 0, time_visits INTEGER NOT NULL DEFAULT 0,
    scroll_total INTEGER NOT NULL DEFAULT 0, scroll_visits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket)
) WITHOUT ROWID;

CREATE TABLE rollup_sources (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL,
    channel INTEGER NOT NULL, source INTEGER NOT NULL, referrer INTEGER NOT NULL,
    utm_source INTEGER NOT NULL, utm_medium INTEGER NOT NULL, utm_campaign INTEGER NOT NULL,
    utm_content INTEGER NOT NULL, utm_term INTEGER NOT NULL,
    v_channel INTEGER NOT NULL DEFAULT 0, v_source INTEGER NOT NULL DEFAULT 0, v_referrer INTEGER NOT NULL DEFAULT 0, v_utm_source INTEGER NOT NULL DEFAULT 0, v_utm_medium INTEGER NOT NULL DEFAULT 0, v_utm_campaign INTEGER NOT NULL DEFAULT 0, v_utm_content INTEGER NOT NULL DEFAULT 0, v_utm_term INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, channel, source, referrer, utm_source, utm_medium, utm_campaign, utm_content, utm_term)
) WITHOUT ROWID;

CREATE TABLE rollup_locations (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL, country TEXT NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, country)
) WITHOUT ROWID;

CREATE TABLE rollup_devices (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL, device INTEGER NOT NULL, screen INTEGER NOT NULL,
    v_device INTEGER NOT NULL DEFAULT 0, v_screen INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, device, screen)
) WITHOUT ROWID;

CREATE TABLE rollup_browsers (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL, browser INTEGER NOT NULL, browser_version INTEGER NOT NULL,
    v_browser INTEGER NOT NULL DEFAULT 0, v_browser_version INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, browser, browser_version)
) WITHOUT ROWID;

CREATE TABLE rollup_os (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL, os INTEGER NOT NULL, os_version INTEGER NOT NULL,
    v_os INTEGER NOT NULL DEFAULT 0, v_os_version INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, os, os_version)
) WITHOUT ROWID;

CREATE TABLE rollup_entry_pages (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL, entry_page INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, entry_page)
) WITHOUT ROWID;

CREATE TABLE rollup_exit_pages (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL, exit_page INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, exit_page)
) WITHOUT ROWID;

-- Event-level rollups sit at the event's bucket.
CREATE TABLE rollup_pages (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL, hostname INTEGER NOT NULL, page INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0,
    time_total INTEGER NOT NULL DEFAULT 0, time_visits INTEGER NOT NULL DEFAULT 0,
    scroll_total INTEGER NOT NULL DEFAULT 0, scroll_visits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, hostname, page)
) WITHOUT ROWID;

CREATE TABLE rollup_events (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL, name INTEGER NOT NULL,
    link_url INTEGER NOT NULL, path INTEGER NOT NULL,
    v_name INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, name, link_url, path)
) WITHOUT ROWID;

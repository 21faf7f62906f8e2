-- The operator's records, kept apart from the event data in analytics.db:
-- sites, users and their roles, API keys and their usage, sign-in state,
-- dashboard options and the daily salts. Column order and meaning are those
-- of the tables release 0.1 kept in analytics.db, so an upgrade copies rows as
-- they are (analytics/accounts/upgrade.py).

-- AUTOINCREMENT: a removed site's id is never given to a new site, so event
-- rows that outlive their site in the other file can never be counted for another.
CREATE TABLE sites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE INDEX site_roles_user ON site_roles (user_id);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,   -- SHA-256 of the key; the key itself is shown once
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Stats API rate limits: requests per key per minute, summed over the last hour.
-- A sliding window of 60 one-minute slots, kept in the database so every
-- worker process sharing this file counts against the same budget.
CREATE TABLE api_usage (
    key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,             -- Unix minute: ts / 60
    hits INTEGER NOT NULL,
    PRIMARY KEY (key_id, slot)
) WITHOUT ROWID;
CREATE INDEX api_usage_slot ON api_usage (slot);

-- Sign-in sessions. The cookie carries a random token; only its SHA-256 is
-- kept, so a copy of the database cannot be replayed as a cookie.
CREATE TABLE web_sessions (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Server-side keys (CSRF tokens and share-password cookies are HMACs under them).
CREATE TABLE web_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- Failed sign-ins per account, for the rate limit; rows older than the window
-- are deleted. No IP address or user agent is stored here.
CREATE TABLE signin_failures (
    email TEXT NOT NULL COLLATE NOCASE,
    ts INTEGER NOT NULL
);
CREATE INDEX signin_failures_email ON signin_failures (email, ts);

-- Dashboard options per site. share_min_visitors is k: public share links hide
-- rows with fewer than k visitors (0 turns suppression off).
CREATE TABLE site_dashboard (
    site_id INTEGER PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
    share_min_visitors INTEGER NOT NULL DEFAULT 5,
    prop_keys TEXT NOT NULL DEFAULT ''
);

-- Daily salts, keyed by UTC day number. Only today's and yesterday's exist;
-- older ones are deleted with secure_delete on and the WAL truncated after.
CREATE TABLE salts (
    day INTEGER PRIMARY KEY,
    salt BLOB NOT NULL
);

-- One-time steps already done on this file, e.g. taking the accounts over from
-- a release 0.1 analytics.db.
CREATE TABLE upgrades (
    name TEXT PRIMARY KEY,
    done_at INTEGER NOT NULL
);

-- Dashboard state: sign-in sessions, the CSRF key, sign-in throttling and
-- per-site dashboard options. No IP address or user agent is stored here.

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

-- Failed sign-ins per account, for the rate limit; rows older than the window are deleted.
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

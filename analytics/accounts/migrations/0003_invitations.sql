-- Invitations: an owner adds a person to a site by handing them a one-time
-- link; the invitee sets their own password (or, with an account already,
-- signs in). Only the SHA-256 of the link's token is kept, a row lives at most
-- until it expires, and accepting it deletes it: a link works once.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    email TEXT NOT NULL COLLATE NOCASE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'viewer')),
    token_hash BLOB NOT NULL UNIQUE,
    invited_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX invitations_site ON invitations (site_id);

-- API keys again, now with AUTOINCREMENT: `keys revoke ID` must never hit a
-- newer key that took a revoked key's id. last_used_at: when the key last
-- answered a request (to the minute), for `keys list`; NULL: never. Dropping
-- the old table empties api_usage (ON DELETE CASCADE): the hour's rate-limit
-- counts start afresh once.
CREATE TABLE api_keys_v3 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,   -- SHA-256 of the key; the key itself is shown once
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
INSERT INTO api_keys_v3 (id, user_id, name, key_hash, prefix, created_at)
    SELECT id, user_id, name, key_hash, prefix, created_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_v3 RENAME TO api_keys;

-- Admins may add sites on the dashboard (the `site_creators` setting) and
-- manage the instance. The first user created is the admin, as before.
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
UPDATE users SET admin = 1 WHERE id = (SELECT MIN(id) FROM users);

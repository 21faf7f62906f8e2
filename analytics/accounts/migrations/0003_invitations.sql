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

-- When a key last answered a request (to the minute), for `keys list`; NULL: never.
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;

-- Admins may add sites on the dashboard (the `site_creators` setting) and
-- manage the instance. The first user created is the admin, as before.
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
UPDATE users SET admin = 1 WHERE id = (SELECT MIN(id) FROM users);

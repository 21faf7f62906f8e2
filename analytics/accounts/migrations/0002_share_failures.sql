-- Share-link password attempts per link, counted across worker processes. A row
-- is written before the password is checked (a reservation) and kept when the
-- password was wrong. No address or other client detail is stored.
CREATE TABLE share_failures (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    ts INTEGER NOT NULL
);
CREATE INDEX share_failures_site ON share_failures (site_id, ts);

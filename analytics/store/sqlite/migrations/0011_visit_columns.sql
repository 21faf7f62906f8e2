-- Filtered views (issue 11): every event row carries its visit's visitor id,
-- start and first-touch attributes (store/sqlite/carried.py), copied by the
-- writer, so raw plans filter and break down by them without joining `sessions`.
-- Existing rows get their visit's values here, in the migration's transaction.
ALTER TABLE events ADD COLUMN visitor_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN visit_start INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN channel INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN source INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN referrer INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN utm_source INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN utm_medium INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN utm_campaign INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN utm_content INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN utm_term INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN browser INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN browser_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN os INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN os_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN device INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN screen INTEGER NOT NULL DEFAULT 0;

UPDATE events SET
    visitor_id = s.visitor_id, visit_start = s.start, channel = s.channel, source = s.source,
    referrer = s.referrer, utm_source = s.utm_source, utm_medium = s.utm_medium,
    utm_campaign = s.utm_campaign, utm_content = s.utm_content, utm_term = s.utm_term,
    country = s.country, language = s.language, browser = s.browser,
    browser_version = s.browser_version, os = s.os, os_version = s.os_version,
    device = s.device, screen = s.screen
FROM sessions s WHERE s.id = events.session_id;

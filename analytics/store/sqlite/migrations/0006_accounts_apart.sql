-- Accounts live in their own file now, accounts.db (analytics/accounts/): this
-- file keeps only event data. Release 0.1 kept sites, users, keys, sign-in state,
-- dashboard options and the salts here. Opening a 0.1 data dir, the accounts code
-- first copies those rows into accounts.db and then marks this file
-- (accounts_moved); only after that may this migration drop them. The guard below
-- stops it while this file holds accounts that were not copied (the event store
-- opened alone on a 0.1 data dir), so no order of events loses them.
CREATE TABLE IF NOT EXISTS accounts_moved (done_at INTEGER NOT NULL);
CREATE TEMP TABLE accounts_guard (
    ok INTEGER NOT NULL,
    CONSTRAINT "accounts not yet copied to accounts.db; open the data dir with the analytics command" CHECK (ok)
);
INSERT INTO accounts_guard (ok)
SELECT (NOT EXISTS (SELECT 1 FROM sites) AND NOT EXISTS (SELECT 1 FROM users)) OR EXISTS (SELECT 1 FROM accounts_moved);
DROP TABLE accounts_guard;

-- Children before parents. With foreign keys on (the writer's setting), dropping
-- a table that other tables still reference would first delete its rows, and
-- cascade; nothing left references these when they go.
DROP TABLE api_usage;
DROP TABLE api_keys;
DROP TABLE web_sessions;
DROP TABLE web_secrets;
DROP TABLE signin_failures;
DROP TABLE site_dashboard;
DROP TABLE site_roles;
DROP TABLE salts;

-- Imported history referenced sites(id). The tables are rebuilt without that
-- reference (SQLite cannot drop one from a table): new tables, rows copied, old
-- tables dropped (children first, so no cascade runs), new ones renamed, which
-- also renames the references to them. Removing a site now deletes its imports
-- explicitly (SQLiteStore.delete_site); an import still cascades to its rows.
CREATE TABLE site_imports_new (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    source TEXT NOT NULL,           -- the uploaded file's name, for the settings page
    first_day TEXT,                 -- the dates the import covers, NULL when it was empty
    last_day TEXT,
    rows INTEGER NOT NULL DEFAULT 0
);
INSERT INTO site_imports_new SELECT * FROM site_imports;
CREATE TABLE imported_visitors_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_visitors_new SELECT * FROM imported_visitors;
CREATE TABLE imported_sources_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT '',   -- not in the CSV: derived from source and UTM values on import
    source TEXT NOT NULL DEFAULT '', referrer TEXT NOT NULL DEFAULT '',
    utm_source TEXT NOT NULL DEFAULT '', utm_medium TEXT NOT NULL DEFAULT '',
    utm_campaign TEXT NOT NULL DEFAULT '', utm_content TEXT NOT NULL DEFAULT '',
    utm_term TEXT NOT NULL DEFAULT '',
    pageviews INTEGER NOT NULL DEFAULT 0, visitors INTEGER NOT NULL DEFAULT 0,
    visits INTEGER NOT NULL DEFAULT 0, visit_duration INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_sources_new SELECT * FROM imported_sources;
CREATE TABLE imported_pages_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    hostname TEXT NOT NULL DEFAULT '', page TEXT NOT NULL DEFAULT '',
    visits INTEGER NOT NULL DEFAULT 0, visitors INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0,
    total_scroll_depth INTEGER NOT NULL DEFAULT 0, total_scroll_depth_visits INTEGER NOT NULL DEFAULT 0,
    total_time_on_page INTEGER NOT NULL DEFAULT 0, total_time_on_page_visits INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_pages_new SELECT * FROM imported_pages;
CREATE TABLE imported_entry_pages_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    entry_page TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, entrances INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_entry_pages_new SELECT * FROM imported_entry_pages;
CREATE TABLE imported_exit_pages_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    exit_page TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, visit_duration INTEGER NOT NULL DEFAULT 0,
    exits INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_exit_pages_new SELECT * FROM imported_exit_pages;
CREATE TABLE imported_custom_events_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '', link_url TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_custom_events_new SELECT * FROM imported_custom_events;
CREATE TABLE imported_locations_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT '', region TEXT NOT NULL DEFAULT '', city INTEGER NOT NULL DEFAULT 0,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_locations_new SELECT * FROM imported_locations;
CREATE TABLE imported_devices_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    device TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_devices_new SELECT * FROM imported_devices;
CREATE TABLE imported_browsers_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    browser TEXT NOT NULL DEFAULT '', browser_version TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_browsers_new SELECT * FROM imported_browsers;
CREATE TABLE imported_operating_systems_new (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports_new(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    operating_system TEXT NOT NULL DEFAULT '', operating_system_version TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
INSERT INTO imported_operating_systems_new SELECT * FROM imported_operating_systems;
DROP TABLE imported_visitors;
DROP TABLE imported_sources;
DROP TABLE imported_pages;
DROP TABLE imported_entry_pages;
DROP TABLE imported_exit_pages;
DROP TABLE imported_custom_events;
DROP TABLE imported_locations;
DROP TABLE imported_devices;
DROP TABLE imported_browsers;
DROP TABLE imported_operating_systems;
DROP TABLE site_imports;
DROP TABLE sites;
DROP TABLE users;
DROP TABLE accounts_moved;

ALTER TABLE site_imports_new RENAME TO site_imports;
ALTER TABLE imported_visitors_new RENAME TO imported_visitors;
ALTER TABLE imported_sources_new RENAME TO imported_sources;
ALTER TABLE imported_pages_new RENAME TO imported_pages;
ALTER TABLE imported_entry_pages_new RENAME TO imported_entry_pages;
ALTER TABLE imported_exit_pages_new RENAME TO imported_exit_pages;
ALTER TABLE imported_custom_events_new RENAME TO imported_custom_events;
ALTER TABLE imported_locations_new RENAME TO imported_locations;
ALTER TABLE imported_devices_new RENAME TO imported_devices;
ALTER TABLE imported_browsers_new RENAME TO imported_browsers;
ALTER TABLE imported_operating_systems_new RENAME TO imported_operating_systems;

CREATE INDEX site_imports_site ON site_imports (site_id);
CREATE INDEX imported_visitors_site_date ON imported_visitors (site_id, date);
CREATE INDEX imported_visitors_import ON imported_visitors (import_id);
CREATE INDEX imported_sources_site_date ON imported_sources (site_id, date);
CREATE INDEX imported_sources_import ON imported_sources (import_id);
CREATE INDEX imported_pages_site_date ON imported_pages (site_id, date);
CREATE INDEX imported_pages_import ON imported_pages (import_id);
CREATE INDEX imported_entry_pages_site_date ON imported_entry_pages (site_id, date);
CREATE INDEX imported_entry_pages_import ON imported_entry_pages (import_id);
CREATE INDEX imported_exit_pages_site_date ON imported_exit_pages (site_id, date);
CREATE INDEX imported_exit_pages_import ON imported_exit_pages (import_id);
CREATE INDEX imported_custom_events_site_date ON imported_custom_events (site_id, date);
CREATE INDEX imported_custom_events_import ON imported_custom_events (import_id);
CREATE INDEX imported_locations_site_date ON imported_locations (site_id, date);
CREATE INDEX imported_locations_import ON imported_locations (import_id);
CREATE INDEX imported_devices_site_date ON imported_devices (site_id, date);
CREATE INDEX imported_devices_import ON imported_devices (import_id);
CREATE INDEX imported_browsers_site_date ON imported_browsers (site_id, date);
CREATE INDEX imported_browsers_import ON imported_browsers (import_id);
CREATE INDEX imported_operating_systems_site_date ON imported_operating_systems (site_id, date);
CREATE INDEX imported_operating_systems_import ON imported_operating_systems (import_id);

-- Imported history (Plausible CSV export, reference §4): daily rows per report.
-- Dimension values are plain text in the site's time zone's dates ('YYYY-MM-DD');
-- the counters keep Plausible's column names and meanings (visit_duration is total
-- seconds, total_time_on_page is seconds). Rows belong to one import; a newer import
-- of the same report replaces the older one's rows for the dates it covers.
-- Deleting a site or an import deletes its rows (foreign keys are on in the writer).
CREATE TABLE site_imports (
    id INTEGER PRIMARY KEY,
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    source TEXT NOT NULL,           -- the uploaded file's name, for the settings page
    first_day TEXT,                 -- the dates the import covers, NULL when it was empty
    last_day TEXT,
    rows INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX site_imports_site ON site_imports (site_id);

CREATE TABLE imported_visitors (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_visitors_site_date ON imported_visitors (site_id, date);
CREATE INDEX imported_visitors_import ON imported_visitors (import_id);

CREATE TABLE imported_sources (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
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
CREATE INDEX imported_sources_site_date ON imported_sources (site_id, date);
CREATE INDEX imported_sources_import ON imported_sources (import_id);

CREATE TABLE imported_pages (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    hostname TEXT NOT NULL DEFAULT '', page TEXT NOT NULL DEFAULT '',
    visits INTEGER NOT NULL DEFAULT 0, visitors INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0,
    total_scroll_depth INTEGER NOT NULL DEFAULT 0, total_scroll_depth_visits INTEGER NOT NULL DEFAULT 0,
    total_time_on_page INTEGER NOT NULL DEFAULT 0, total_time_on_page_visits INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_pages_site_date ON imported_pages (site_id, date);
CREATE INDEX imported_pages_import ON imported_pages (import_id);

CREATE TABLE imported_entry_pages (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    entry_page TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, entrances INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_entry_pages_site_date ON imported_entry_pages (site_id, date);
CREATE INDEX imported_entry_pages_import ON imported_entry_pages (import_id);

CREATE TABLE imported_exit_pages (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    exit_page TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, visit_duration INTEGER NOT NULL DEFAULT 0,
    exits INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_exit_pages_site_date ON imported_exit_pages (site_id, date);
CREATE INDEX imported_exit_pages_import ON imported_exit_pages (import_id);

CREATE TABLE imported_custom_events (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '', link_url TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_custom_events_site_date ON imported_custom_events (site_id, date);
CREATE INDEX imported_custom_events_import ON imported_custom_events (import_id);

CREATE TABLE imported_locations (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT '', region TEXT NOT NULL DEFAULT '', city INTEGER NOT NULL DEFAULT 0,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_locations_site_date ON imported_locations (site_id, date);
CREATE INDEX imported_locations_import ON imported_locations (import_id);

CREATE TABLE imported_devices (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    device TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_devices_site_date ON imported_devices (site_id, date);
CREATE INDEX imported_devices_import ON imported_devices (import_id);

CREATE TABLE imported_browsers (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    browser TEXT NOT NULL DEFAULT '', browser_version TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_browsers_site_date ON imported_browsers (site_id, date);
CREATE INDEX imported_browsers_import ON imported_browsers (import_id);

CREATE TABLE imported_operating_systems (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    operating_system TEXT NOT NULL DEFAULT '', operating_system_version TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_operating_systems_site_date ON imported_operating_systems (site_id, date);
CREATE INDEX imported_operating_systems_import ON imported_operating_systems (import_id);

-- Reads (issue 13): whether a pageview was read is decided when its engagement
-- arrives (analytics/visits/reading.py). The deciding engagement event is marked
-- `read`; `words` is the page's length the tracker measured. A visit keeps how
-- many of its pageviews were read (`reads`). Rollups count reads where they
-- count pageviews, and readers (visitors who read) where they count visitors:
-- `readers` per full key, `r_<column>` per value of one column of a wider key.
ALTER TABLE events ADD COLUMN words INTEGER;
ALTER TABLE events ADD COLUMN read INTEGER;
ALTER TABLE sessions ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_totals ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_totals ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_totals_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_totals_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_pages ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_pages ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_pages_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_pages_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_entry_pages ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_entry_pages ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_entry_pages_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_entry_pages_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_exit_pages ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_exit_pages ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_exit_pages_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_exit_pages_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN r_channel INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN r_source INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN r_referrer INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN r_utm_source INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN r_utm_medium INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN r_utm_campaign INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN r_utm_content INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources ADD COLUMN r_utm_term INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN r_channel INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN r_source INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN r_referrer INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN r_utm_source INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN r_utm_medium INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN r_utm_campaign INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN r_utm_content INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_sources_day ADD COLUMN r_utm_term INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_locations ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_locations ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_locations_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_locations_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_languages ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_languages ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_languages_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_languages_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_browsers ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_browsers ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_browsers ADD COLUMN r_browser INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_browsers ADD COLUMN r_browser_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_browsers_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_browsers_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_browsers_day ADD COLUMN r_browser INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_browsers_day ADD COLUMN r_browser_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_os ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_os ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_os ADD COLUMN r_os INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_os ADD COLUMN r_os_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_os_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_os_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_os_day ADD COLUMN r_os INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_os_day ADD COLUMN r_os_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_devices ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_devices ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_devices ADD COLUMN r_device INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_devices ADD COLUMN r_screen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_devices_day ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_devices_day ADD COLUMN readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_devices_day ADD COLUMN r_device INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_devices_day ADD COLUMN r_screen INTEGER NOT NULL DEFAULT 0;
-- Imported reads: our extension files imported_reads.csv (totals),
-- imported_page_reads.csv and imported_source_reads.csv (transfer/layout.py).
-- Plausible's import ignores them; ours reads them back.
CREATE TABLE imported_reads (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    reads INTEGER NOT NULL DEFAULT 0, readers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_reads_site_date ON imported_reads (site_id, date);
CREATE TABLE imported_page_reads (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    hostname TEXT NOT NULL DEFAULT '', page TEXT NOT NULL DEFAULT '',
    reads INTEGER NOT NULL DEFAULT 0, readers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_page_reads_site_date ON imported_page_reads (site_id, date);
CREATE TABLE imported_source_reads (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT '',   -- not in the CSV: derived from source and UTM values on import
    source TEXT NOT NULL DEFAULT '', referrer TEXT NOT NULL DEFAULT '',
    utm_source TEXT NOT NULL DEFAULT '', utm_medium TEXT NOT NULL DEFAULT '',
    utm_campaign TEXT NOT NULL DEFAULT '', utm_content TEXT NOT NULL DEFAULT '',
    utm_term TEXT NOT NULL DEFAULT '',
    reads INTEGER NOT NULL DEFAULT 0, readers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_source_reads_site_date ON imported_source_reads (site_id, date);

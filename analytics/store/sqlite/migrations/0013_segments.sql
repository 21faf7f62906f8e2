-- Filtered views (issue 11): settled days of every rollup table again per value of each
-- segment attribute (catalog SEGMENTS: 1 channel, 2 source, 3 UTM campaign), so a filter on
-- one of their values reads rollups. Filled off the ingest path by replaying each settled day's visits
-- (store/sqlite/splits.py); `segment_days` says through which local day a site's rows are complete.
CREATE TABLE segment_days (
    site_id INTEGER PRIMARY KEY,
    timezone TEXT NOT NULL,
    through_day INTEGER NOT NULL      -- the last local day (days since 1970-01-01) replayed
);

CREATE TABLE rollup_totals_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0, duration INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,
    time_total INTEGER NOT NULL DEFAULT 0, time_visits INTEGER NOT NULL DEFAULT 0, scroll_total INTEGER NOT NULL DEFAULT 0,
    scroll_visits INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0, readers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day)
) WITHOUT ROWID;

CREATE TABLE rollup_pages_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    hostname INTEGER NOT NULL, page INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0,
    time_total INTEGER NOT NULL DEFAULT 0, time_visits INTEGER NOT NULL DEFAULT 0, scroll_total INTEGER NOT NULL DEFAULT 0,
    scroll_visits INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0, readers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, hostname, page)
) WITHOUT ROWID;

CREATE TABLE rollup_events_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    name INTEGER NOT NULL, link_url INTEGER NOT NULL, path INTEGER NOT NULL,
    v_name INTEGER NOT NULL DEFAULT 0, visitors INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, name, link_url, path)
) WITHOUT ROWID;

CREATE TABLE rollup_entry_pages_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    entry_page INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0, duration INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0,
    readers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, entry_page)
) WITHOUT ROWID;

CREATE TABLE rollup_exit_pages_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    exit_page INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0, duration INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0,
    readers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, exit_page)
) WITHOUT ROWID;

CREATE TABLE rollup_sources_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    channel INTEGER NOT NULL, source INTEGER NOT NULL, referrer INTEGER NOT NULL, utm_source INTEGER NOT NULL, utm_medium INTEGER NOT NULL, utm_campaign INTEGER NOT NULL, utm_content INTEGER NOT NULL, utm_term INTEGER NOT NULL,
    v_channel INTEGER NOT NULL DEFAULT 0, v_source INTEGER NOT NULL DEFAULT 0, v_referrer INTEGER NOT NULL DEFAULT 0,
    v_utm_source INTEGER NOT NULL DEFAULT 0, v_utm_medium INTEGER NOT NULL DEFAULT 0, v_utm_campaign INTEGER NOT NULL DEFAULT 0,
    v_utm_content INTEGER NOT NULL DEFAULT 0, v_utm_term INTEGER NOT NULL DEFAULT 0, visitors INTEGER NOT NULL DEFAULT 0,
    visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0, readers INTEGER NOT NULL DEFAULT 0,
    r_channel INTEGER NOT NULL DEFAULT 0, r_source INTEGER NOT NULL DEFAULT 0, r_referrer INTEGER NOT NULL DEFAULT 0,
    r_utm_source INTEGER NOT NULL DEFAULT 0, r_utm_medium INTEGER NOT NULL DEFAULT 0, r_utm_campaign INTEGER NOT NULL DEFAULT 0,
    r_utm_content INTEGER NOT NULL DEFAULT 0, r_utm_term INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, channel, source, referrer, utm_source, utm_medium, utm_campaign, utm_content, utm_term)
) WITHOUT ROWID;

CREATE TABLE rollup_locations_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    country TEXT NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0, duration INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0,
    readers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, country)
) WITHOUT ROWID;

CREATE TABLE rollup_languages_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    language TEXT NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0,
    bounces INTEGER NOT NULL DEFAULT 0, duration INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0,
    readers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, language)
) WITHOUT ROWID;

CREATE TABLE rollup_browsers_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    browser INTEGER NOT NULL, browser_version INTEGER NOT NULL,
    v_browser INTEGER NOT NULL DEFAULT 0, v_browser_version INTEGER NOT NULL DEFAULT 0, visitors INTEGER NOT NULL DEFAULT 0,
    visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0, readers INTEGER NOT NULL DEFAULT 0,
    r_browser INTEGER NOT NULL DEFAULT 0, r_browser_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, browser, browser_version)
) WITHOUT ROWID;

CREATE TABLE rollup_os_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    os INTEGER NOT NULL, os_version INTEGER NOT NULL,
    v_os INTEGER NOT NULL DEFAULT 0, v_os_version INTEGER NOT NULL DEFAULT 0, visitors INTEGER NOT NULL DEFAULT 0,
    visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0, readers INTEGER NOT NULL DEFAULT 0,
    r_os INTEGER NOT NULL DEFAULT 0, r_os_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, os, os_version)
) WITHOUT ROWID;

CREATE TABLE rollup_devices_seg (
    site_id INTEGER NOT NULL, seg INTEGER NOT NULL, value INTEGER NOT NULL, day INTEGER NOT NULL,
    device INTEGER NOT NULL, screen INTEGER NOT NULL,
    v_device INTEGER NOT NULL DEFAULT 0, v_screen INTEGER NOT NULL DEFAULT 0, visitors INTEGER NOT NULL DEFAULT 0,
    visits INTEGER NOT NULL DEFAULT 0, pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0, reads INTEGER NOT NULL DEFAULT 0, readers INTEGER NOT NULL DEFAULT 0,
    r_device INTEGER NOT NULL DEFAULT 0, r_screen INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, seg, value, day, device, screen)
) WITHOUT ROWID;

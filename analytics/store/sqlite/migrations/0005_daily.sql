-- A daily tier: the 15-minute rollups summed per calendar day of the site's time
-- zone (day = days since 1970-01-01 in local time), for days that can no longer
-- change. Long ranges read these instead of 96 buckets a day. Visitor credits are
-- per local day already, so the sums are exact. Rebuilt when a site's zone changes.
CREATE TABLE rollup_days (
    site_id INTEGER PRIMARY KEY,
    timezone TEXT NOT NULL,
    through_day INTEGER NOT NULL     -- the last local day summed into the *_day tables
);

CREATE TABLE rollup_totals_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,
    time_total INTEGER NOT NULL DEFAULT 0, time_visits INTEGER NOT NULL DEFAULT 0,
    scroll_total INTEGER NOT NULL DEFAULT 0, scroll_visits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day)
) WITHOUT ROWID;

CREATE TABLE rollup_sources_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL,
    channel INTEGER NOT NULL, source INTEGER NOT NULL, referrer INTEGER NOT NULL,
    utm_source INTEGER NOT NULL, utm_medium INTEGER NOT NULL, utm_campaign INTEGER NOT NULL,
    utm_content INTEGER NOT NULL, utm_term INTEGER NOT NULL,
    v_channel INTEGER NOT NULL DEFAULT 0, v_source INTEGER NOT NULL DEFAULT 0, v_referrer INTEGER NOT NULL DEFAULT 0, v_utm_source INTEGER NOT NULL DEFAULT 0, v_utm_medium INTEGER NOT NULL DEFAULT 0, v_utm_campaign INTEGER NOT NULL DEFAULT 0, v_utm_content INTEGER NOT NULL DEFAULT 0, v_utm_term INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, channel, source, referrer, utm_source, utm_medium, utm_campaign, utm_content, utm_term)
) WITHOUT ROWID;

CREATE TABLE rollup_locations_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL, country TEXT NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, country)
) WITHOUT ROWID;

CREATE TABLE rollup_devices_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL, device INTEGER NOT NULL, screen INTEGER NOT NULL,
    v_device INTEGER NOT NULL DEFAULT 0, v_screen INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, device, screen)
) WITHOUT ROWID;

CREATE TABLE rollup_browsers_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL, browser INTEGER NOT NULL, browser_version INTEGER NOT NULL,
    v_browser INTEGER NOT NULL DEFAULT 0, v_browser_version INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, browser, browser_version)
) WITHOUT ROWID;

CREATE TABLE rollup_os_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL, os INTEGER NOT NULL, os_version INTEGER NOT NULL,
    v_os INTEGER NOT NULL DEFAULT 0, v_os_version INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, os, os_version)
) WITHOUT ROWID;

CREATE TABLE rollup_entry_pages_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL, entry_page INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, entry_page)
) WITHOUT ROWID;

CREATE TABLE rollup_exit_pages_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL, exit_page INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, exit_page)
) WITHOUT ROWID;

CREATE TABLE rollup_pages_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL, hostname INTEGER NOT NULL, page INTEGER NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0,
    time_total INTEGER NOT NULL DEFAULT 0, time_visits INTEGER NOT NULL DEFAULT 0,
    scroll_total INTEGER NOT NULL DEFAULT 0, scroll_visits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, hostname, page)
) WITHOUT ROWID;

CREATE TABLE rollup_events_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL, name INTEGER NOT NULL,
    link_url INTEGER NOT NULL, path INTEGER NOT NULL,
    v_name INTEGER NOT NULL DEFAULT 0, 
    visitors INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, name, link_url, path)
) WITHOUT ROWID;

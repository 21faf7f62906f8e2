-- The daily tier built before this migration filed the hours before a change of
-- the zone's UTC offset under the wrong local day when the days it summed came
-- within a day of the change (its offset CASE applied each change's new offset
-- before the change). Drop it: the next housekeeping sums it again from the
-- 15-minute buckets, which were always right.
DELETE FROM rollup_days;
DELETE FROM rollup_totals_day;
DELETE FROM rollup_sources_day;
DELETE FROM rollup_locations_day;
DELETE FROM rollup_devices_day;
DELETE FROM rollup_browsers_day;
DELETE FROM rollup_os_day;
DELETE FROM rollup_entry_pages_day;
DELETE FROM rollup_exit_pages_day;
DELETE FROM rollup_pages_day;
DELETE FROM rollup_events_day;

-- Reads (issue 13): a pageview is read at `read_scroll` % scroll depth after
-- max(10 s, `read_share` % of its reading time at 230 words per minute) engaged.
ALTER TABLE sites ADD COLUMN read_scroll INTEGER NOT NULL DEFAULT 75;
ALTER TABLE sites ADD COLUMN read_share INTEGER NOT NULL DEFAULT 30;

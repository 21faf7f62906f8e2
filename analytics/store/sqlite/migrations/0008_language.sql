-- visit:language: the reader's primary language (ISO 639-1), a first-touch
-- visit attribute stored as text, with its own rollup table and daily tier.
-- Visits recorded before this migration have no language ('').
ALTER TABLE sessions ADD COLUMN language TEXT NOT NULL DEFAULT '';

CREATE TABLE rollup_languages (
    site_id INTEGER NOT NULL, bucket INTEGER NOT NULL, language TEXT NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, bucket, language)
) WITHOUT ROWID;

CREATE TABLE rollup_languages_day (
    site_id INTEGER NOT NULL, day INTEGER NOT NULL, language TEXT NOT NULL,
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    duration INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day, language)
) WITHOUT ROWID;

-- Imported history for the extra report `imported_languages.csv`.
CREATE TABLE imported_languages (
    site_id INTEGER NOT NULL,
    import_id INTEGER NOT NULL REFERENCES site_imports(id) ON DELETE CASCADE,
    date TEXT NOT NULL, language TEXT NOT NULL DEFAULT '',
    visitors INTEGER NOT NULL DEFAULT 0, visits INTEGER NOT NULL DEFAULT 0,
    visit_duration INTEGER NOT NULL DEFAULT 0, bounces INTEGER NOT NULL DEFAULT 0,
    pageviews INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX imported_languages_site_date ON imported_languages (site_id, date);
CREATE INDEX imported_languages_import ON imported_languages (import_id);

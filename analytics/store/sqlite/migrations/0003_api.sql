-- Stats API rate limits: requests per key per minute, summed over the last hour.
-- A sliding window of 60 one-minute slots, kept in the database so every
-- worker process sharing this file counts against the same budget.
CREATE TABLE api_usage (
    key_id INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,             -- Unix minute: ts / 60
    hits INTEGER NOT NULL,
    PRIMARY KEY (key_id, slot)
) WITHOUT ROWID;
CREATE INDEX api_usage_slot ON api_usage (slot);

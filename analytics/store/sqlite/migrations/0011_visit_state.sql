-- Storage (issue 11): a visit's page and goal marks (`state`, JSON) are write-path
-- bookkeeping that only visits the writer may still continue or count with need:
-- those started in the last two days (store/sqlite/write.py HORIZON). They move to
-- their own table, whose old rows are deleted (write.forget_states), so whole pages
-- free up and are reused; in `sessions` they took about 21 bytes per event.
CREATE TABLE visit_state (
    id INTEGER PRIMARY KEY,            -- sessions.id
    state TEXT NOT NULL
);
INSERT INTO visit_state (id, state)
    SELECT id, state FROM sessions WHERE start >= (SELECT MAX(start) FROM sessions) - 3 * 86400;
ALTER TABLE sessions DROP COLUMN state;

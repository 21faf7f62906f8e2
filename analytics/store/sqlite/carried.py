"""The visit columns each event row carries (issue 11): filters and breakdowns on them need no join.

A visit's first-touch attributes, its visitor id and its start never change
once the visit is open, so the writer copies them onto every event of the
visit as it writes it (store.sqlite.write). Raw plans then read them from the
event row itself (store.sqlite.compiler, store.sqlite.segments); only what
changes over a visit (exit page, bounce, duration, pageviews per visit, the
entry page, which a visit opened by a custom event sets later) still needs
`sessions`. The list follows the catalog's first-touch dimensions; a new one
needs its column on `events` too, added by the migration that adds it to `sessions`.
"""

from __future__ import annotations

from analytics.catalog import SESSION_ATTRS

# Visit column in `sessions` -> its copy's column in `events`, in the order the writer binds them.
CARRIED: dict[str, str] = {"visitor_id": "visitor_id", "start": "visit_start", **{c: c for c in SESSION_ATTRS}}

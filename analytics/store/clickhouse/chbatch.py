"""A batch's parts as one ClickHouse statement, the parts that read the same rows as one scan.

chsums.py compiles each plan to parts (a grouped SELECT each); this module joins
a batch's parts with UNION ALL into the one statement chstore.py runs, and says
where each row's values go. ClickHouse plans every SELECT of a statement anew
(about 2.6 ms each at 500k events, whatever it reads: a dashboard of 58 parts
spent 205 ms on them), so parts with the same source (the tabs of one rollup
table over one range, the visit tabs of one filtered set) become one SELECT with
`GROUPING SETS`, one set per key set, and each row says its set with
`grouping()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Grouping:
    """A part that is `SELECT keys, sums FROM source GROUP BY keys`: parts of one source can share one scan.

    `source` is the FROM (and WHERE) text; its parameters are named by their values
    (`chsums.Compiler.v`), so the parts of two plans reading the same rows have equal text.
    """

    source: str
    keys: tuple[str, ...]  # key expressions, the plan's dimensions in order
    sums: tuple[str, ...]  # aggregate expressions, the part's sums in order


class Part(NamedTuple):
    """One grouped SELECT of a plan: its SQL and parameters, the sums it returns, whether it reads imports."""

    sql: str
    params: dict[str, Any]
    names: tuple[str, ...]
    imported: bool
    grouping: Grouping | None = None


# Where a row of a batch's statement goes: (plan index, its key columns, (sum name, sum column) pairs).
Target = tuple[int, tuple[int, ...], tuple[tuple[str, int], ...]]
# Each row starts with (part, grouping set): which targets it feeds.
Layout = dict[tuple[int, int], list[Target]]
# One SELECT of the statement: its SQL, key and sum columns, targets with their grouping mask, the mask's SQL.
Select = tuple[str, list[str], list[str], list[tuple[Target, int]], str]
MAX_KEYS = 60  # `grouping()` is a 64-bit mask: a larger shared scan stays as separate parts


def union(parts: list[tuple[int, int, Part]]) -> tuple[str, dict[str, Any], Layout]:
    """One statement for a whole batch: rows of (part, grouping set, keys as text, Int64 sums), arrays of both.

    `parts` holds (plan index, number of dimensions, part). Parts with a `Grouping` of
    the same source and the same distinct counts become one SELECT with
    `GROUPING SETS`, one set per distinct key set: ClickHouse plans each SELECT of a
    statement anew (about 2.6 ms each, whatever it reads), and reads the rows once
    for all sets. Returns the SQL, its parameters, and where each row's values go.
    """
    selects: list[Select] = []
    shared: dict[tuple[str, frozenset[str]], list[tuple[int, int, Part]]] = {}
    params: dict[str, Any] = {}
    for i, ndims, part in parts:
        params.update(part.params)
        g = part.grouping
        if g is not None and len(g.keys) == ndims:
            shared.setdefault((g.source, distinct_counts(g.sums)), []).append((i, ndims, part))
            continue
        selects.append(_plain(i, ndims, part))
    _fold(shared)
    for (source, _), members in shared.items():
        keys = list(dict.fromkeys(k for _, _, part in members for k in _grouping(part).keys))
        if len(members) == 1 or len(keys) > MAX_KEYS:
            selects += [_plain(i, ndims, part) for i, ndims, part in members]
            continue
        selects.append(_grouped(source, keys, members))
    layout: Layout = {}
    sqls = []
    for n, (sql, keys, sums, targets, gset) in enumerate(selects):
        # Keys and sums as arrays: parts of any width share one row type, with no padding to plan.
        key_array = f"[{', '.join(f'toString(x.{k})' for k in keys)}]" if keys else "CAST([] AS Array(String))"
        sum_array = f"[{', '.join(f'toInt64(ifNull(x.{s}, 0))' for s in sums)}]" if sums else "CAST([] AS Array(Int64))"
        sqls.append(f"SELECT {n} AS part, {gset} AS gset, {key_array} AS keys, {sum_array} AS sums FROM ({sql}) AS x")
        for target, mask in targets:
            layout.setdefault((n, mask), []).append(target)
    return " UNION ALL ".join(sqls), params, layout


def _fold(shared: dict[tuple[str, frozenset[str]], list[tuple[int, int, Part]]]) -> None:
    """Move each part into a scan of its source that computes more distinct counts for its key set anyway.

    The entry pages tab's visits (no distinct count) then come from the grouping set
    that counts the entry pages' visitors already: nothing computed twice, one SELECT less.
    """
    for key in sorted(shared, key=lambda k: len(k[1])):
        source, counts = key
        stay = []
        for member in shared[key]:
            keys = frozenset(_grouping(member[2]).keys)
            into = next(
                (
                    members
                    for (src, more), members in shared.items()
                    if src == source
                    and counts < more
                    and any(frozenset(_grouping(p).keys) == keys for _, _, p in members)
                ),
                None,
            )
            if into is None:
                stay.append(member)
            else:
                into.append(member)
        if stay:
            shared[key] = stay
        else:
            del shared[key]


def distinct_counts(sums: Iterable[str]) -> frozenset[str]:
    """The distinct counts among a part's aggregates: what parts must share to share a scan.

    Every aggregate of a shared SELECT is computed for every grouping set. Sums and
    counts cost little there; a distinct count (`uniqExact`) keeps a hash set per group,
    so a part that does not ask it must not pay for it in another part's scan.
    """
    return frozenset(s for s in sums if s.startswith("uniq"))


def _grouping(part: Part) -> Grouping:
    assert part.grouping is not None
    return part.grouping


def _plain(i: int, ndims: int, part: Part) -> Select:
    """A part as it is: its own SELECT, its d<k> and s<k> columns feeding plan `i`."""
    target: Target = (i, tuple(range(ndims)), tuple((name, k) for k, name in enumerate(part.names)))
    keys, sums = [f"d{k}" for k in range(ndims)], [f"s{k}" for k in range(len(part.names))]
    return part.sql, keys, sums, [(target, 0)], "toUInt64(0)"


def _grouped(source: str, keys: list[str], members: list[tuple[int, int, Part]]) -> Select:
    """Parts of one source as one SELECT: a grouping set per distinct key set, every member's sums.

    A row's `grouping(g0, g1...)` says which set it belongs to: bit j (counted from the
    most significant, as ClickHouse's standard-compatible GROUPING does) is 1 when key j
    is not in the set.
    """
    sums = list(dict.fromkeys(s for _, _, part in members for s in _grouping(part).sums))
    sets: dict[frozenset[int], None] = {}
    targets: list[tuple[Target, int]] = []
    for i, _, part in members:
        g = _grouping(part)
        positions = tuple(keys.index(k) for k in g.keys)
        mask = sum(1 << (len(keys) - 1 - j) for j in range(len(keys)) if j not in positions)
        sets[frozenset(positions)] = None
        named = tuple((name, sums.index(s)) for name, s in zip(part.names, g.sums, strict=True))
        targets.append(((i, positions, named), mask))
    key_cols = [f"{k} AS g{j}" for j, k in enumerate(keys)]
    sum_cols = [f"{s} AS a{j}" for j, s in enumerate(sums)]
    if len(sets) == 1 and keys:  # one key set: a plain GROUP BY, every row of it (mask 0)
        group, gset = " GROUP BY " + ", ".join(f"g{j}" for j in range(len(keys))), "toUInt64(0)"
    elif keys:
        listed = ", ".join("(" + ", ".join(f"g{j}" for j in sorted(s)) + ")" for s in sets)
        group, gset = f" GROUP BY GROUPING SETS ({listed})", "x.gs"
        sum_cols.append(f"grouping({', '.join(f'g{j}' for j in range(len(keys)))}) AS gs")
    else:
        group, gset = "", "toUInt64(0)"
    sql = f"SELECT {', '.join([*key_cols, *sum_cols])} FROM {source}{group}"
    return sql, [f"g{j}" for j in range(len(keys))], [f"a{j}" for j in range(len(sums))], targets, gset

"""Plausible's CSV layout (analytics/transfer/layout.py): what each report reads from the store and
how its rows become cells. The full files are checked end to end in test_export.py."""

from __future__ import annotations

import pytest

from analytics.store.base import RollupRead
from analytics.transfer.layout import PLAUSIBLE, REPORTS, REPORTS_BY_NAME, neutralise, unneutralise


def test_the_reports_and_their_files() -> None:
    assert [r.file for r in REPORTS] == [
        "imported_visitors.csv", "imported_sources.csv", "imported_pages.csv", "imported_entry_pages.csv",
        "imported_exit_pages.csv", "imported_custom_events.csv", "imported_locations.csv", "imported_devices.csv",
        "imported_browsers.csv", "imported_operating_systems.csv",
        "imported_languages.csv",  # generic, from the catalog's visit:language
        "imported_reads.csv", "imported_page_reads.csv", "imported_source_reads.csv",  # reads, ours
    ]  # fmt: skip
    assert len(PLAUSIBLE) == 10 and REPORTS[: len(PLAUSIBLE)] == PLAUSIBLE


def test_a_report_reads_keys_then_sums_in_backend_neutral_names() -> None:
    sources = REPORTS_BY_NAME["sources"]
    assert sources.read == RollupRead(
        "rollup_sources",
        ("source", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"),
        ("pageviews", "v_source", "visits", "duration", "bounces"),  # visitors: the source's own credit
    )
    assert sources.header == ("date", "source", "referrer", "utm_source", "utm_medium", "utm_campaign",
                              "utm_content", "utm_term", "pageviews", "visitors", "visits", "visit_duration",
                              "bounces")  # fmt: skip
    assert sources.text_cells == (0, 1, 2, 3, 4, 5, 6)


def test_cells_blank_direct_drop_empty_rows_and_sort_as_written() -> None:
    sources = REPORTS_BY_NAME["sources"]
    blank = ("",) * 6
    rows = [("Bing", *blank, 1, 1, 1, 0, 1), ("Direct / None", *blank, 3, 2, 2, 0, 2), ("Zed", *blank, 0, 0, 0, 0, 0)]
    assert sources.cells(rows) == [("", *blank, 3, 2, 2, 0, 2), ("Bing", *blank, 1, 1, 1, 0, 1)]


def test_cells_turn_milliseconds_into_whole_seconds_half_up() -> None:
    pages = REPORTS_BY_NAME["pages"]
    assert pages.read.sums == ("visits", "visitors", "pageviews", "scroll_total", "scroll_visits", "time_total",
                               "time_visits")  # fmt: skip
    rows = [("h", "/a", 1, 1, 2, 50, 1, 1500, 1), ("h", "/b", 1, 1, 1, 0, 0, 2499, 1), ("h", "/c", 1, 1, 1, 0, 0, 499, 1)]
    assert [c[7] for c in pages.cells(rows)] == [2, 2, 0]


def test_cells_add_the_constants_plausible_has() -> None:
    locations = REPORTS_BY_NAME["locations"]
    assert locations.header == ("date", "country", "region", "city", "visitors", "visits", "visit_duration",
                                "bounces", "pageviews")  # fmt: skip
    assert locations.read.keys == ("country",)
    assert locations.cells([("CH", 1, 1, 0, 1, 1)]) == [("CH", "", 0, 1, 1, 0, 1, 1)]
    assert [c.is_text for c in locations.columns[:3]] == [True, True, False]  # region text, city a number


@pytest.mark.parametrize(
    "value", ["=1+1", "+x", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "''@x", "plain", "'quoted'", "", "a=b"]
)
def test_unneutralise_restores_every_value(value: str) -> None:
    assert unneutralise(neutralise(value)) == value


def test_unneutralise_leaves_other_apostrophes() -> None:
    assert unneutralise("'plain") == "'plain" and unneutralise("'") == "'" and unneutralise("''=x") == "'=x"

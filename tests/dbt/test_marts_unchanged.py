"""Every number of the small world stays what it was: each table the models (and the
reconciliation) leave in the warehouse matches, row for row and column for column, the
fingerprint committed in small_world_marts.json.

A change that moves a number on purpose regenerates the file in the same commit, with a test
that says why:

    python -m tests.marts_fingerprint <the small run's warehouse> > tests/dbt/small_world_marts.json
"""

import json
from pathlib import Path

from tests.marts_fingerprint import differences, fingerprint

EXPECTED = Path(__file__).with_name("small_world_marts.json")


def test_the_small_worlds_tables_are_those_committed(small_warehouse):
    expected = json.loads(EXPECTED.read_text())
    lines = differences(expected, fingerprint(small_warehouse))
    assert not lines, "the small world's tables changed:\n" + "\n".join(lines)


def test_the_fingerprint_names_what_changed(small_warehouse_copy):
    """The comparison can fail, and says where: one changed cent in one mart."""
    import duckdb

    before = fingerprint(small_warehouse_copy)
    with duckdb.connect(str(small_warehouse_copy)) as con:
        con.execute(
            "update marts.mrr_summary_daily set mrr_end = mrr_end + 0.01 "
            "where summary_date = (select max(summary_date) from marts.mrr_summary_daily)"
        )
    assert differences(before, fingerprint(small_warehouse_copy)) == [
        "marts.mrr_summary_daily.mrr_end: differs"
    ]

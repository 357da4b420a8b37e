"""activation_monthly against the simulator's ground truth: trials started and trials converted
per trial-start month equal what the small world's simulation decided
(ground_truth/customers.csv: `trial_started_at`, `trial_converted`)."""

from __future__ import annotations

import csv
from collections import Counter

import duckdb


def test_trials_started_and_converted_match_the_simulator(small_warehouse, small_world):
    truth_started: Counter = Counter()
    truth_converted: Counter = Counter()
    with open(small_world / "ground_truth" / "customers.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if not row["trial_started_at"]:
                continue
            month = row["trial_started_at"][:7]
            truth_started[month] += 1
            if row["trial_converted"].strip().lower() in ("true", "1"):
                truth_converted[month] += 1

    connection = duckdb.connect(str(small_warehouse), read_only=True)
    try:
        rows = connection.execute(
            "select strftime(month, '%Y-%m'), trials_started, trials_converted "
            "from marts.activation_monthly"
        ).fetchall()
    finally:
        connection.close()
    mart_started = +Counter({month: started for month, started, _ in rows})
    mart_converted = +Counter({month: converted for month, _, converted in rows})

    assert truth_started, "the small world has no trials"
    assert mart_started == truth_started
    assert mart_converted == truth_converted
    print(
        f"compared {len(truth_started)} trial-start months: "
        f"{sum(truth_started.values())} trials started, "
        f"{sum(truth_converted.values())} converted"
    )

"""Time pain points and key drivers: on the airline passenger survey (26,000 respondents x 14
ratings, survey only; skipped without ../shared/realdata) and on generated sample data.

Run: python bench/insights_speed.py [--customers 20000] [--bootstrap 200] [--repeat 3]
Reports the best of ``--repeat`` runs (seconds) after one warm-up, so imports and the first
query plan are not counted. Key drivers time the whole call: reading the inputs, the fit,
the exact Shapley decomposition (2^p sub-models) and every bootstrap resample.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

AIRLINE = REPO.parent / "shared" / "realdata" / "airline_passenger_satisfaction_survey.csv.gz"
AIRLINE_RATINGS = [
    "Inflight wifi service", "Departure/Arrival time convenient", "Ease of Online booking", "Gate location",
    "Food and drink", "Online boarding", "Seat comfort", "Inflight entertainment", "On-board service",
    "Leg room service", "Baggage handling", "Checkin service", "Inflight service", "Cleanliness",
]


def best_of(repeat: int, fn) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from journeylib import insights, sample
    from journeylib.ingest import load_journey

    datasets = []
    if AIRLINE.exists():
        datasets.append(("airline survey (survey only)",
                         load_journey(survey=AIRLINE, mapping={"score": AIRLINE_RATINGS}, not_rated=(0,))))
    raw = sample.generate_sample(args.customers, seed=1)
    datasets.append((f"sample, {args.customers:,} customers",
                     load_journey(touchpoints=raw["touchpoints"], survey=raw["survey"], customers=raw["customers"])))
    print(f"{'dataset':34} {'pain points':>12} {'key drivers':>12}  inputs  bootstrap")
    for name, data in datasets:
        pains = best_of(args.repeat, lambda: insights.pain_points(data))
        kd = insights.key_drivers(data, bootstrap=args.bootstrap)
        drivers = best_of(args.repeat, lambda: insights.key_drivers(data, bootstrap=args.bootstrap))
        print(f"{name:34} {pains:>11.2f}s {drivers:>11.2f}s  {len(kd.table):>6}  {args.bootstrap:>9}")


if __name__ == "__main__":
    main()

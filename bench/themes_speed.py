"""Speed of comment themes (issue 18: themes for 100,000 comments within 15 s on this machine).

Run: python bench/themes_speed.py [--comments 100000] [--seed 3] [--by stage]

Two corpora, each timed end to end through ``journeylib.voice.comment_themes`` (the survey
as an engine table: the comments leave the engine once, then sentiment, TF-IDF, the
automatic choice of the number of themes and NMF per group):

- ``generated``: short survey comments (one or two sentences, like the bundled sample's)
  written from seeded phrase pools over six stages, nearly all distinct;
- ``british_airways``: the 3,701 Skytrax reviews of ../shared/realdata (about 900
  characters each, one group) repeated up to the same count, when that folder exists.

The first call of a process also pays the imports (scikit-learn, VADER's lexicon); that
cost is timed apart. The load average is printed first: on a shared machine the wall time
grows with it, the CPU time much less.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REALDATA = REPO.parent / "shared" / "realdata"

STAGES = ("Awareness", "Consideration", "Intent", "Purchase", "Retention", "Advocacy")
TOPICS = {
    "Awareness": [("ad", "advert", "video", "banner"), ("search", "result", "google", "link"),
                  ("friend", "recommendation", "colleague", "sister")],
    "Consideration": [("size", "guide", "dimensions", "measurements"), ("reviews", "photos", "ratings", "stars"),
                      ("comparison", "models", "options", "features"), ("colour", "pictures", "shade", "finish")],
    "Intent": [("basket", "cart", "wishlist", "saved"), ("shipping", "costs", "fees", "surprise"),
               ("chat", "agent", "advice", "question")],
    "Purchase": [("checkout", "payment", "card", "paypal"), ("confirmation", "email", "receipt", "order"),
                 ("voucher", "code", "discount", "promo")],
    "Retention": [("delivery", "courier", "parcel", "tracking"), ("wheels", "handle", "zip", "quality"),
                  ("return", "refund", "exchange", "label"), ("app", "login", "account", "password")],
    "Advocacy": [("review", "stars", "rating", "feedback"), ("referral", "link", "points", "reward")],
}
GOOD = ("great", "easy", "quick", "clear", "helpful", "lovely", "smooth", "perfect")
BAD = ("slow", "confusing", "broken", "late", "useless", "annoying", "poor", "wrong")
FRAMES = ("The {a} was {adj} and the {b} {verb} {adj2}.", "{A} {adj}, {b} {adj2}.",
          "I found the {a} {adj}; the {b} was {adj2} too.", "Honestly the {a} and {b} were {adj}.",
          "My {a} was {adj} after {n} days, the {b} {verb} {adj2}.", "{A} was {adj}. {B} {verb} {adj2}!")
EXTRA = ("Thanks.", "Will come back.", "Not sure I would do it again.", "Overall fine.", "Please fix this.",
         "Ordered the {p}.", "It was for my {p}.")
PRODUCTS = ("carry-on case", "weekender bag", "backpack", "large suitcase", "toiletry bag", "luggage set")


def generated_comments(n: int, seed: int) -> pd.DataFrame:
    """``n`` survey rows (customer_id, stage, score 1-5, comment) with planted topics."""
    rng = np.random.default_rng(seed)
    stage = rng.choice(len(STAGES), n)
    rows = []
    for i in range(n):
        s = STAGES[stage[i]]
        words = TOPICS[s][rng.integers(len(TOPICS[s]))]
        happy = rng.random() < 0.6
        pool = GOOD if happy else BAD
        a, b = rng.choice(words, 2, replace=False)
        text = FRAMES[rng.integers(len(FRAMES))].format(
            a=a, b=b, A=a.capitalize(), B=b.capitalize(), adj=pool[rng.integers(8)], adj2=pool[rng.integers(8)],
            verb=("was", "felt", "seemed")[rng.integers(3)], n=int(rng.integers(1, 15)))
        if rng.random() < 0.5:
            text += " " + EXTRA[rng.integers(len(EXTRA))].format(p=PRODUCTS[rng.integers(len(PRODUCTS))])
        score = int(np.clip(round(rng.normal(4.2 if happy else 1.9, 0.8)), 1, 5))
        rows.append((f"C{i:07d}", s, score, text))
    return pd.DataFrame(rows, columns=["customer_id", "stage", "score", "comment"])


def airline_comments(n: int) -> pd.DataFrame | None:
    path = REALDATA / "british_airways_reviews.csv.gz"
    if not path.exists():
        return None
    reviews = pd.read_csv(path).dropna(subset=["ReviewBody"])
    reps = -(-n // len(reviews))
    frame = pd.concat([reviews] * reps, ignore_index=True).head(n)
    return pd.DataFrame({"customer_id": [f"R{i:07d}" for i in range(len(frame))], "stage": None,
                         "score": frame["OverallRating"].to_numpy(), "comment": frame["ReviewBody"].to_numpy()})


def time_themes(frame: pd.DataFrame, by: str, seed: int) -> tuple[float, float, object]:
    """Wall and CPU seconds (this process, all its threads) of the themes, and the themes."""
    from journeylib.engine import default_engine
    from journeylib.voice import comment_themes

    survey = default_engine().table(frame.astype({"stage": "string", "comment": "string",
                                                  "customer_id": "string", "score": "float64"}))
    start, cpu = time.perf_counter(), time.process_time()
    themes = comment_themes(survey, by=by, seed=seed, order=STAGES)
    return time.perf_counter() - start, time.process_time() - cpu, themes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--by", default="stage", choices=["stage", "touchpoint", "persona"])
    args = parser.parse_args()
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    start = time.perf_counter()
    warm = generated_comments(200, args.seed)
    time_themes(warm, args.by, args.seed)
    print(f"imports and first call (200 comments): {time.perf_counter() - start:.1f} s")

    corpora = {"generated": generated_comments(args.comments, args.seed),
               "british_airways": airline_comments(args.comments)}
    for name, frame in corpora.items():
        if frame is None:
            print(f"{name}: skipped ({REALDATA} not found)")
            continue
        seconds, cpu, themes = time_themes(frame, args.by, args.seed)
        real = themes.table[themes.table["theme_id"] > 0]
        chars = frame["comment"].str.len().mean()
        print(f"{name}: {len(frame):,} comments ({frame['comment'].nunique():,} distinct, "
              f"{chars:.0f} characters on average): {seconds:.1f} s ({cpu:.1f} s of CPU), {len(real)} themes in "
              f"{themes.table.iloc[:, 0].nunique()} groups")


if __name__ == "__main__":
    main()

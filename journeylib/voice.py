"""Voice of the customer: comment sentiment, comment themes, and who answered the survey.

**Sentiment** is VADER's compound score (Hutto and Gilbert 2014; the lexicon ships inside
the ``vadersentiment`` package, nothing is downloaded), in [-1, 1]. VADER is an *English*
lexicon: when the comments read as another language (:func:`detect_language`) no
sentiment is given rather than a wrong one. Empty and non-text comments have none either.
A comment *disagrees* with its score when the score is in the top third of the scale and
the sentiment is negative (<= -0.05, VADER's own cut), or the score is in the bottom third
and the sentiment positive (>= 0.05).

**Themes** are found per stage, touchpoint or persona with scikit-learn: TF-IDF over the
comments' words, then non-negative matrix factorisation (NMF, deterministic NNDSVDa
start). English comments lose scikit-learn's English stop words and are stemmed with the
Snowball stemmer; comments in another language get no English stop list: only the few
function words that told the language apart are left out, and that language's Snowball
stemmer is used when there is one. In every language a word in more than half of a
group's comments, or in only one, is left out (document-frequency limits). Each comment
belongs to the theme with its largest weight; a comment with no usable word (``"ok"``,
``"!!!"``) is counted under ``(no theme)``. A group with fewer than :data:`MIN_COMMENTS`
comments gets no themes and a row saying so.

``n_themes="auto"`` picks, per group, the number of themes k in 2..8 (at most one theme
per 10 comments) by the mean *silhouette* of the comments' theme assignments (cosine
distance between their TF-IDF vectors: comments close to the others of their theme and
far from the nearest other theme): the smallest k within 0.02 of the best, so a theme
more must earn its place. The choice is made on a seeded sample of at most
:data:`SELECTION_COMMENTS` comments of the group; the themes are then learnt from at most
:data:`FIT_COMMENTS` of them and every comment gets its weights. (Mean NPMI coherence of
the top terms and the stability of top terms across subsamples were tried first: on
comments with planted topics both often chose one theme too few or too many; the
silhouette found the planted number.)

**Survey coverage** compares, per stage and persona, the customers who reached a stage
(had events there) with those who answered there, and asks whether the customers who
answered behave like those who did not: reach of the goal (Cohen's h, for proportions)
and journey length in events (Cohen's d, pooled SD). Above 0.2 (Cohen's "small") a plain
warning says which way the emotion curve may mislead.

Aggregations over events and survey rows run in Ibis; only the comments themselves come
to Python for the text work.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import ibis
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from journeylib.emotions import NO_STAGE, UNASSIGNED, survey_with_persona
from journeylib.engine import execute
from journeylib.flows import NO_TOUCHPOINT
from journeylib.schema import ALL_PERSONAS, ScoreScale

__all__ = [
    "BY", "MIN_COMMENTS", "AUTO_THEMES", "SELECTION_COMMENTS", "THEME_COLUMNS", "NO_THEME", "TOO_FEW",
    "POSITIVE", "NEGATIVE", "SENTIMENT_NOTE", "EFFECT_THRESHOLD",
    "detect_language", "sentiment", "disagrees", "with_sentiment",
    "Themes", "find_themes", "comment_rows", "comment_themes", "theme_table", "theme_highlights", "theme_comments",
    "survey_coverage", "cohens_h", "answerer_differences", "coverage_warnings",
]

BY = ("stage", "touchpoint", "persona")
MIN_COMMENTS = 20  # fewer comments than this in a group: no themes, a row says so
AUTO_THEMES = (2, 8)  # the range n_themes="auto" chooses from
COMMENTS_PER_THEME = 10  # auto never makes more themes than one per this many comments
SELECTION_COMMENTS = 1000  # comments of a group the auto choice is made on (seeded sample)
FIT_COMMENTS = 5000  # comments of a group the themes are learnt from (seeded sample); all get one
SHOWN_TERMS = 8  # terms listed for a theme
LABEL_TERMS = 3  # terms in a theme's label
TERM_FLOOR = 0.1
SILHOUETTE_TIE = 0.02  # a theme more must raise the silhouette by this much to be kept
WEAK_SILHOUETTE = 0.05  # below this for every k the comments have no clear theme structure
MAX_DF = 0.5  # a word in more than half of a group's comments tells its themes apart from nothing
MAX_FEATURES = 2000
POSITIVE = 0.05  # VADER's own cut-offs for positive and negative text
NEGATIVE = -0.05
EFFECT_THRESHOLD = 0.2  # Cohen's "small" effect: above it answerers differ from the rest
NO_THEME = "(no theme)"
TOO_FEW = "(too few comments)"
THEME_COLUMNS = ("theme", "terms", "comments", "share", "mean_score", "sentiment", "example")
SENTIMENT_NOTE = ("Sentiment is VADER's score of the words, from -1 (negative) to 1 (positive). VADER is an "
                  "English lexicon: comments in other languages get no sentiment.")

# A few of the most frequent function words per language: enough to tell languages apart
# by the share of words that are among them (no model, no download).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "english": frozenset("the and to of a in is it was for that with on my not but this very i we they you be "
                         "have had were are at so no".split()),
    "dutch": frozenset("de het een en van ik je niet is dat die op te met voor was zijn maar er ook om bij wel "
                       "nog geen naar uit aan heb werd".split()),
    "german": frozenset("der die das und ist nicht ich es ein eine zu den mit von auf für war sehr aber auch wir "
                        "sie dem im bei noch kein wurde hat habe".split()),
    "french": frozenset("le la les et est de des un une pas je il que qui en du pour très mais avec sur au ce "
                        "nous ne plus était on dans".split()),
    "spanish": frozenset("el la los las y es de un una no que en por muy pero con para se del lo al fue mi su "
                         "más me como era está nos".split()),
    "italian": frozenset("il la le e è di un una non che per in molto ma con del della sono mi ho si lo ci al "
                         "era anche più come nel gli".split()),
    "portuguese": frozenset("o a os as e é de um uma não que em por muito mas com para se do da no na foi meu "
                            "mais como era está nos ao".split()),
    "swedish": frozenset("och att det är en ett jag inte som på med för var den till av men har om vi de så "
                         "mycket kan hade sig från när".split()),
}
MIN_LANGUAGE_SHARE = 0.05  # below this share of function words the language is not named
LANGUAGE_SAMPLE = 2000  # comments read to tell the language

_WORD = re.compile(r"[^\W\d_]{2,}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


# ----------------------------------------------------------------------------- text


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("n't", " not").replace("’", "'"))


def detect_language(texts: Iterable[object]) -> str | None:
    """The language most of ``texts`` are written in (``"english"``, ``"dutch"``, ...).

    A stop-word-ratio heuristic: the language whose most frequent function words make
    up the largest share of the words, over at most :data:`LANGUAGE_SAMPLE` texts. None
    when no language reaches :data:`MIN_LANGUAGE_SHARE` (very short comments, or a
    language not in :data:`FUNCTION_WORDS`).
    """
    words: list[str] = []
    for i, text in enumerate(t for t in texts if _is_text(t)):
        if i >= LANGUAGE_SAMPLE:
            break
        words += _words(text)
    if not words:
        return None
    series = pd.Series(words)
    shares = {lang: float(series.isin(vocab).mean()) for lang, vocab in FUNCTION_WORDS.items()}
    best = max(shares, key=lambda lang: (shares[lang], lang == "english"))
    return best if shares[best] >= MIN_LANGUAGE_SHARE else None


@functools.lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(texts: Iterable[object], language: str | None = "auto") -> pd.Series:
    """VADER compound sentiment of each text, in [-1, 1] (float Series, same order).

    Empty and non-text values give NaN. VADER is an English lexicon: with
    ``language="auto"`` the language is detected (:func:`detect_language`) and every
    value is NaN when it is another language; pass ``language="english"`` to score anyway.
    A text of several sentences gets the mean of its sentences' scores. Each distinct
    sentence is scored once.
    """
    values = pd.Series(list(texts), dtype="object")
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    is_text = values.map(_is_text).astype(bool)
    if not is_text.any():
        return out
    if language == "auto":
        language = detect_language(values[is_text])
    if language not in (None, "english"):
        return out
    analyzer = _vader()
    by_sentence: dict[str, float] = {}

    def score(text: str) -> float:
        # VADER reads sentences: its negation checks rescan the whole text for every word, so
        # a long review is scored sentence by sentence and averaged, as VADER's authors
        # advise for paragraphs.
        values = []
        for part in _SENTENCE.split(text.strip()):
            if part:
                got = by_sentence.get(part)
                if got is None:
                    got = by_sentence[part] = analyzer.polarity_scores(part)["compound"]
                values.append(got)
        return float(np.mean(values)) if values else float("nan")

    scores = {t: score(t) for t in pd.unique(values[is_text])}
    out[is_text] = values[is_text].map(scores).astype("float64")
    return out


def _scale_of(scores: pd.Series, scale: ScoreScale | None) -> ScoreScale | None:
    if scale is not None:
        return scale
    valid = pd.to_numeric(scores, errors="coerce").dropna()
    if valid.empty or valid.min() == valid.max():
        return None
    return ScoreScale(float(valid.min()), float(valid.max()))


def disagrees(scores: pd.Series, sentiments: pd.Series, scale: ScoreScale | None = None) -> pd.Series:
    """Whether each comment's sentiment contradicts its score (bool Series).

    True when the score is in the top third of ``scale`` (the observed range when None)
    and the sentiment <= :data:`NEGATIVE`, or the score is in the bottom third and the
    sentiment >= :data:`POSITIVE`. A missing score or sentiment never disagrees.
    """
    score = pd.to_numeric(pd.Series(scores), errors="coerce").astype("float64").reset_index(drop=True)
    feel = pd.Series(sentiments, dtype="float64").reset_index(drop=True)
    scale = _scale_of(score, scale)
    if scale is None:
        return pd.Series(False, index=score.index)
    third = (scale.high - scale.low) / 3
    top = score >= scale.high - third
    bottom = score <= scale.low + third
    return ((top & (feel <= NEGATIVE)) | (bottom & (feel >= POSITIVE))).fillna(False).astype(bool)


def with_sentiment(frame: pd.DataFrame, scale: ScoreScale | None = None,
                   language: str | None = "auto") -> pd.DataFrame:
    """``frame`` (with ``comment`` and ``score`` columns) plus ``sentiment`` and ``disagrees``."""
    out = frame.copy()
    out["sentiment"] = sentiment(frame["comment"], language).to_numpy()
    score = frame["score"] if "score" in frame else pd.Series(np.nan, index=frame.index)
    out["disagrees"] = disagrees(score, out["sentiment"], scale).to_numpy()
    return out


def _tone(score: pd.Series, feel: pd.Series, scale: ScoreScale | None) -> pd.Series:
    """How a comment feels on one scale of -1..1: its score (mapped from the score scale)
    where it has one, else its sentiment. The score is what the customer said they felt."""
    score = pd.to_numeric(score, errors="coerce").astype("float64")
    if scale is None or scale.high == scale.low:
        return feel.astype("float64")
    mapped = (score - scale.midpoint) / ((scale.high - scale.low) / 2)
    return mapped.fillna(feel.astype("float64"))


# ----------------------------------------------------------------------------- themes


class _Analyzer:
    """Words -> stop words dropped -> stems, cached per word; remembers each stem's most
    common surface form, so a theme is labelled "delayed", not "delay"."""

    def __init__(self, language: str | None):
        import snowballstemmer
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        # English: scikit-learn's list. Another language: only the few function words that
        # told the language apart (FUNCTION_WORDS); document-frequency limits do the rest.
        self.stop = (frozenset(ENGLISH_STOP_WORDS) if language == "english"
                     else FUNCTION_WORDS.get(language, frozenset()))
        algorithms = set(snowballstemmer.algorithms())
        self.stemmer = snowballstemmer.stemmer(language) if language in algorithms else None
        self._stems: dict[str, str] = {}
        self.forms: dict[str, dict[str, int]] = {}

    def stem(self, word: str) -> str:
        got = self._stems.get(word)
        if got is None:
            got = self.stemmer.stemWord(word) if self.stemmer is not None else word
            self._stems[word] = got
        return got

    def __call__(self, text: str) -> list[str]:
        out = []
        for word in _words(text):
            if word in self.stop:
                continue
            s = self.stem(word)
            forms = self.forms.setdefault(s, {})
            forms[word] = forms.get(word, 0) + 1
            out.append(s)
        return out

    def display(self, stem: str) -> str:
        forms = self.forms.get(stem) or {stem: 1}
        return max(forms, key=lambda w: (forms[w], -len(w)))


@contextlib.contextmanager
def _settled_enough():
    """Long multi-topic reviews can take more than 400 rounds of NMF to settle to 1e-4; the
    themes (top terms, each comment's strongest theme) have long stopped changing by then."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _nmf(X, k: int, seed: int):
    from sklearn.decomposition import NMF

    model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=400, tol=1e-4)
    with _settled_enough():
        W = model.fit_transform(X)
    return model, W


def _choose_k(Xu, inverse: np.ndarray, seed: int, n_docs: int) -> tuple[int, dict[int, float]]:
    """The k of :data:`AUTO_THEMES` whose theme assignments have the highest mean
    silhouette (see the module docstring), with the silhouette of each k tried. ``Xu``
    holds the distinct comments, ``inverse`` maps each comment to its row."""
    from sklearn.metrics import silhouette_score
    from sklearn.metrics.pairwise import cosine_distances

    lo, hi = AUTO_THEMES
    hi = max(lo, min(hi, n_docs // COMMENTS_PER_THEME))
    has_words = np.asarray(Xu.sum(axis=1)).ravel() > 0
    rows = inverse[has_words[inverse]]
    if len(rows) > SELECTION_COMMENTS:
        rows = rows[np.sort(np.random.default_rng(seed).choice(len(rows), SELECTION_COMMENTS, replace=False))]
    Xs = Xu[rows]
    distances = cosine_distances(Xs)  # the same comments for every k: computed once
    np.fill_diagonal(distances, 0.0)
    scores: dict[int, float] = {}
    for k in range(lo, hi + 1):
        if k >= min(Xs.shape):
            break
        _, W = _nmf(Xs, k, seed)
        labels = W.argmax(axis=1)
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = float(silhouette_score(distances, labels, metric="precomputed"))
    if not scores:
        return lo, scores
    best = max(scores.values())
    return min(k for k, v in scores.items() if v >= best - SILHOUETTE_TIE), scores


@dataclass
class Themes:
    """Themes of the comments of each group (stage, touchpoint or persona).

    ``table``: one row per theme: the group column (named ``by``), ``theme_id`` (1 = the
    largest; 0 for ``(no theme)`` and ``(too few comments)`` rows), ``theme`` (a label from
    its top terms), ``terms``, ``comments``, ``share`` (of the group's comments),
    ``mean_score``, ``sentiment`` (mean), ``tone`` (mean of score on -1..1, or sentiment
    where there is no score), ``example``, ``example_2``. ``comments``: every comment
    with its group, ``theme_id``, ``theme`` and ``weight``. ``groups``: per group the
    comments, the themes found, the k chosen, the silhouette of each k tried, ``weak`` (no
    k reached :data:`WEAK_SILHOUETTE`) and a ``note``. ``language``: as detected
    (None when not recognised); ``notes``: sentences about the method worth showing.
    """

    by: str
    table: pd.DataFrame
    comments: pd.DataFrame
    groups: pd.DataFrame
    language: str | None
    notes: list[str] = field(default_factory=list)


def _tfidf(docs: list[list[str]], inverse: np.ndarray):
    """TF-IDF rows of the distinct comments ``docs`` (``inverse`` maps each comment of the
    group to its distinct text) with document frequencies counted over every comment, and
    the terms kept: in at least 2 comments, in at most :data:`MAX_DF` of them (groups of 10
    or more), the :data:`MAX_FEATURES` most frequent. None when fewer than 2 terms are left."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    n = len(inverse)
    counts = CountVectorizer(analyzer=lambda d: d)
    try:
        U = counts.fit_transform(docs).tocsc()
    except ValueError:  # no word at all
        return None
    times = np.bincount(inverse, minlength=len(docs)).astype("float64")
    df = (U > 0).T @ times
    tf = U.T @ times
    keep = df >= 2
    if n >= 10:
        keep &= df <= MAX_DF * n
    cols = np.flatnonzero(keep)
    if len(cols) > MAX_FEATURES:
        cols = np.sort(cols[np.argsort(-tf[cols], kind="stable")[:MAX_FEATURES]])
    if len(cols) < 2:
        return None
    U = U[:, cols].tocsr()
    idf = TfidfTransformer(sublinear_tf=True).fit(U[inverse])
    return idf.transform(U), counts.get_feature_names_out()[cols]


def _themes_of_group(docs: list[list[str]], inverse: np.ndarray, k_wanted, seed: int, analyzer: _Analyzer):
    """(theme per comment, weight per comment, terms per theme, k, silhouette by k), or None
    when too few terms are left. ``docs`` are the distinct comments' words, ``inverse``
    maps every comment of the group to one of them."""
    got = _tfidf(docs, inverse)
    if got is None:
        return None
    Xu, terms = got
    n = len(inverse)
    rng = np.random.default_rng(seed)
    if k_wanted == "auto":
        k, scores = _choose_k(Xu, inverse, seed, n)
    else:
        k, scores = int(k_wanted), {}
    k = max(1, min(k, Xu.shape[1] - 1, n - 1))
    rows = inverse if n <= FIT_COMMENTS else inverse[np.sort(rng.choice(n, FIT_COMMENTS, replace=False))]
    # The themes are learnt from (a seeded sample of) the comments, repeats included; every
    # distinct comment then gets its weights on them (NMF.transform keeps the terms fixed).
    model, _ = _nmf(Xu[rows], k, seed)
    with _settled_enough():
        Wu = model.transform(Xu)
    empty_u = Wu.sum(axis=1) <= 0
    best_u = np.where(empty_u, -1, Wu.argmax(axis=1))
    weight_u = np.where(empty_u, 0.0, Wu.max(axis=1))
    top = np.argsort(-model.components_, axis=1, kind="stable")[:, :SHOWN_TERMS]
    H = model.components_
    # Terms listed: the theme's strongest, down to a tenth of its top term's weight (below
    # that a term belongs to the theme by accident of a few comments).
    words = [[analyzer.display(terms[i]) for i in row if H[t, i] > 0 and H[t, i] >= TERM_FLOOR * H[t].max()]
             for t, row in enumerate(top)]
    return best_u[inverse], weight_u[inverse], words, k, scores


def _group_key(by: str) -> str:
    return {"stage": NO_STAGE, "touchpoint": NO_TOUCHPOINT, "persona": UNASSIGNED}[by]


def _ordered_groups(values: Sequence[str], by: str, order: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(values))
    head = [g for g in order if g in present]
    rest = sorted(g for g in present if g not in head and g != _group_key(by))
    return head + rest + ([_group_key(by)] if _group_key(by) in present else [])


def find_themes(comments: pd.DataFrame, by: str = "stage", n_themes: int | str = "auto", seed: int = 0,
                order: Sequence[str] = (), scale: ScoreScale | None = None,
                language: str | None = "auto") -> Themes:
    """Themes of ``comments`` (a frame with ``by``, ``comment`` and optionally ``score``,
    ``customer_id``, ``sentiment``) per value of ``by``: see :class:`Themes`.

    ``n_themes`` is ``"auto"`` (see the module docstring) or a whole number >= 1.
    ``order`` lists groups to put first (the stage order). The same ``seed`` gives the
    same themes. ``language`` ``"auto"`` detects it from the comments.
    """
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}; got {by!r}")
    if n_themes != "auto" and (isinstance(n_themes, bool) or not isinstance(n_themes, (int, np.integer))
                               or n_themes < 1):
        raise ValueError(f"n_themes must be 'auto' or a whole number >= 1; got {n_themes!r}")
    if "comment" not in comments.columns or by not in comments.columns:
        raise ValueError(f"comments need columns {by!r} and 'comment'")
    frame = comments[comments["comment"].map(_is_text).astype(bool)].copy().reset_index(drop=True)
    frame[by] = frame[by].astype("object").where(frame[by].notna(), _group_key(by)).astype(str)
    if "score" not in frame:
        frame["score"] = np.nan
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype("float64")
    if language == "auto":
        language = detect_language(frame["comment"])
    if "sentiment" not in frame:
        frame["sentiment"] = sentiment(frame["comment"], language).to_numpy()
    frame["tone"] = _tone(frame["score"], frame["sentiment"], _scale_of(frame["score"], scale)).to_numpy()
    analyzer = _Analyzer(language)
    tokens = {t: analyzer(t) for t in pd.unique(frame["comment"])}
    frame["theme_id"] = 0
    frame["theme"] = NO_THEME
    frame["weight"] = 0.0
    rows, groups = [], []
    for group in _ordered_groups(frame[by].tolist(), by, [str(o) for o in order]):
        idx = np.flatnonzero(frame[by].to_numpy() == group)
        part = frame.iloc[idx]
        n = len(idx)
        summary = {"comments": n, "mean_score": part["score"].mean(), "sentiment": part["sentiment"].mean(),
                   "tone": part["tone"].mean()}
        if n < MIN_COMMENTS:
            note = f"{n} comment{'s' if n != 1 else ''} at {group}: themes need at least {MIN_COMMENTS}."
            frame.loc[idx, "theme"] = TOO_FEW
            rows.append({by: group, "theme_id": 0, "theme": TOO_FEW, "terms": "", "share": 1.0, **summary,
                         "example": note, "example_2": ""})
            groups.append({by: group, "comments": n, "themes": 0, "k": 0, "silhouette": {}, "weak": False,
                           "note": note})
            continue
        with threadpool_limits(1, user_api="blas"):
            # The matrices of one group are small: two BLAS threads cost more in handing work
            # over than they save (ten times more for NMF's SVD start on a busy machine).
            codes, distinct = pd.factorize(part["comment"])
            got = _themes_of_group([tokens[t] for t in distinct], codes, n_themes, seed, analyzer)
        if got is None:
            note = f"The {n:,} comments at {group} share too few words to form themes."
            rows.append({by: group, "theme_id": 0, "theme": NO_THEME, "terms": "", "share": 1.0, **summary,
                         "example": note, "example_2": ""})
            groups.append({by: group, "comments": n, "themes": 0, "k": 0, "silhouette": {}, "weak": False,
                           "note": note})
            continue
        best, weight, words, k, scores = got
        sizes = np.bincount(best[best >= 0], minlength=k)
        rank = {t: i + 1 for i, t in enumerate(sorted(range(k), key=lambda t: (-sizes[t], t))) if sizes[t] > 0}
        ids = np.array([rank.get(t, 0) if t >= 0 else 0 for t in best])
        labels = {r: " / ".join(words[t][:LABEL_TERMS]) for t, r in rank.items()}
        frame.loc[idx, "theme_id"] = ids
        frame.loc[idx, "theme"] = [labels.get(i, NO_THEME) for i in ids]
        frame.loc[idx, "weight"] = weight
        for t, r in sorted(rank.items(), key=lambda item: item[1]):
            members = frame.iloc[idx[ids == r]].sort_values("weight", ascending=False, kind="stable")
            examples = list(dict.fromkeys(members["comment"]))[:2] + ["", ""]
            rows.append({by: group, "theme_id": r, "theme": labels[r], "terms": ", ".join(words[t]),
                         "comments": len(members), "share": len(members) / n,
                         "mean_score": members["score"].mean(), "sentiment": members["sentiment"].mean(),
                         "tone": members["tone"].mean(), "example": examples[0], "example_2": examples[1]})
        lost = frame.iloc[idx[ids == 0]]
        if len(lost):
            rows.append({by: group, "theme_id": 0, "theme": NO_THEME, "terms": "", "comments": len(lost),
                         "share": len(lost) / n, "mean_score": lost["score"].mean(),
                         "sentiment": lost["sentiment"].mean(), "tone": lost["tone"].mean(),
                         "example": lost["comment"].iloc[0], "example_2": ""})
        note = f"{len(rank)} themes in {n:,} comments at {group} ({'chosen by silhouette' if scores else 'as asked'})."
        weak = bool(scores) and max(scores.values()) < WEAK_SILHOUETTE
        if weak:
            note += (f" The comments do not fall into clearly separate themes (silhouette below {WEAK_SILHOUETTE} "
                     "for every number tried; long comments that each touch many topics do this): ask for more "
                     "themes to split these broad ones.")
        groups.append({by: group, "comments": n, "themes": len(rank), "k": k, "silhouette": scores, "weak": weak,
                       "note": note})
    columns = [by, "theme_id", "theme", "terms", "comments", "share", "mean_score", "sentiment", "tone",
               "example", "example_2"]
    table = pd.DataFrame(rows, columns=columns)
    table = table.astype({"theme_id": "int64", "comments": "int64", "share": "float64", "mean_score": "float64",
                          "sentiment": "float64", "tone": "float64"})
    notes = [_language_note(language)]
    notes += [g["note"] for g in groups if g["weak"]][:1]  # one such sentence is enough
    return Themes(by=by, table=table, comments=frame, groups=pd.DataFrame(groups), language=language, notes=notes)


def _language_note(language: str | None) -> str:
    often = "words in more than half of a group's comments are left out"
    if language == "english":
        return (f"The comments read as English: common English words and {often}, and words are reduced to "
                "their stem. " + SENTIMENT_NOTE)
    if language is None:
        return (f"The comments' language was not recognised: no stop-word list is applied ({often} instead) "
                "and words are not stemmed. " + SENTIMENT_NOTE)
    name = language.capitalize()
    return (f"The comments read as {name}: no English stop-word list is applied; the few {name} function words "
            f"that tell the language apart and {often}, and words are reduced to their {name} stem. VADER is an "
            "English lexicon, so these comments get no sentiment.")


def comment_rows(survey: ibis.Table, by: str, personas: pd.DataFrame | ibis.Table | None = None) -> ibis.Table:
    """One row per customer, group and distinct comment, with the mean of its scores: a wide
    survey melted into one row per touchpoint repeats each comment on every row."""
    s = survey_with_persona(survey, personas)
    s = s.filter(s.comment.notnull() & (s.comment.cast("string").strip() != ""))
    if by == "persona":
        group = s.persona
    elif by in s.columns:
        group = s[by].cast("string").fill_null(_group_key(by))
    else:
        group = ibis.literal(_group_key(by))
    score = s.score.cast("float64")
    score = ibis.ifelse(score.isnan(), ibis.null("float64"), score)
    cols = {"persona": s.persona.max()} if by != "persona" else {}
    agg = s.group_by(group=group, customer_id=s.customer_id.cast("string"), comment=s.comment.cast("string")).agg(
        score=score.mean(), **cols)
    return agg.order_by(["group", "customer_id", "comment"]).rename({by: "group"})


def comment_themes(survey: ibis.Table, by: str = "stage", n_themes: int | str = "auto", seed: int = 0,
                   personas: pd.DataFrame | ibis.Table | None = None, order: Sequence[str] = (),
                   scale: ScoreScale | None = None) -> Themes:
    """Themes of a survey's comments per stage, touchpoint or persona (:func:`find_themes`).

    A customer's comment counts once per group (a wide survey repeats it on every
    touchpoint's row), with the mean of the scores it came with. Raises ValueError when
    the survey has no comment column.
    """
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}; got {by!r}")
    if "comment" not in survey.columns:
        raise ValueError("the survey has no comment column (map one, e.g. comment=COLUMN)")
    frame = execute(comment_rows(survey, by, personas))
    return find_themes(frame, by=by, n_themes=n_themes, seed=seed, order=order, scale=scale)


def theme_table(themes: Themes) -> pd.DataFrame:
    """The command line's table: ``stage|touchpoint|persona, theme, terms, comments, share,
    mean_score, sentiment, example``, one row per theme (and per group without themes)."""
    return themes.table[[themes.by, *THEME_COLUMNS]].reset_index(drop=True)


def theme_highlights(themes: Themes) -> pd.DataFrame:
    """Per group, its most negative and its most positive theme by tone (score where the
    comments have one, else sentiment): DataFrame[group, negative, negative_id,
    positive, positive_id, note]. A group whose themes all lean one way has no theme on
    the other side (its id is 0); a group without themes has its note."""
    by, out = themes.by, []
    real = themes.table[themes.table["theme_id"] > 0]
    for group in dict.fromkeys(themes.table[by]):
        part = real[(real[by] == group) & real["tone"].notna()]
        neg = part[part["tone"] < 0].sort_values(["tone", "theme_id"]).head(1)
        pos = part[part["tone"] > 0].sort_values(["tone", "theme_id"], ascending=[False, True]).head(1)
        note = themes.groups.loc[themes.groups[by] == group, "note"]
        out.append({"group": group,
                    "negative": neg["theme"].iloc[0] if len(neg) else None,
                    "negative_id": int(neg["theme_id"].iloc[0]) if len(neg) else 0,
                    "positive": pos["theme"].iloc[0] if len(pos) else None,
                    "positive_id": int(pos["theme_id"].iloc[0]) if len(pos) else 0,
                    "note": note.iloc[0] if len(note) else ""})
    return pd.DataFrame(out, columns=["group", "negative", "negative_id", "positive", "positive_id", "note"])


def theme_comments(themes: Themes, group: str, theme_id: int, limit: int | None = 50) -> pd.DataFrame:
    """The comments of one theme, most typical (highest weight) first."""
    c = themes.comments
    part = c[(c[themes.by] == group) & (c["theme_id"] == int(theme_id))]
    part = part.sort_values("weight", ascending=False, kind="stable")
    keep = [col for col in ("customer_id", "score", "sentiment", "comment", "weight") if col in part]
    part = part[keep].reset_index(drop=True)
    return part if limit is None else part.head(int(limit))


# ----------------------------------------------------------------------------- coverage


def _answered(survey: ibis.Table) -> ibis.Value:
    score = survey.score.cast("float64")
    has_score = score.notnull() & ~score.isnan().fill_null(True)
    if "comment" in survey.columns:
        has_comment = survey.comment.notnull() & (survey.comment.cast("string").strip() != "")
        return (has_score | has_comment).fill_null(False)
    return has_score.fill_null(False)


def survey_coverage(data, personas: pd.DataFrame | ibis.Table | None = None) -> pd.DataFrame:
    """Per stage and persona: customers who reached the stage (had events there), who were
    asked (survey rows there, answered or not; only when the survey has rows without an
    answer, i.e. invitations), who answered (a score or a comment there), and the
    response rate (answered / asked, else answered among the reached / reached).

    DataFrame[stage, persona, reached, asked, answered, answered_reached, response_rate];
    ``persona`` is ``all`` for everyone, then one row per persona when ``personas`` is
    given. Without events, ``reached`` and the rate are missing (see :func:`coverage_warnings`).
    """
    survey = data.survey
    columns = ["stage", "persona", "reached", "asked", "answered", "answered_reached", "response_rate"]
    if survey is None or "stage" not in survey.columns:
        return pd.DataFrame(columns=columns)
    s = survey_with_persona(survey, personas).filter(lambda t: t.stage.notnull())
    s = s.mutate(_answered=_answered(s))
    per = s.group_by(customer_id=s.customer_id.cast("string"), stage=s.stage.cast("string")).agg(
        persona=s.persona.max(), answered=s._answered.any())
    with_invitations = bool(execute((~s._answered).any()))
    frames = []
    if data.has_events:
        ev = data.events.filter(lambda t: t.stage.notnull())
        reached = ev.select(customer_id=ev.customer_id.cast("string"), stage=ev.stage.cast("string")).distinct()
        if personas is not None:
            labels = survey_with_persona(reached, personas)
            reached = labels.select("customer_id", "stage", "persona")
        else:
            reached = reached.mutate(persona=ibis.literal(ALL_PERSONAS))
        both = reached.outer_join(per, ["customer_id", "stage"])
        both = both.select(
            customer_id=ibis.coalesce(both.customer_id, both.customer_id_right),
            stage=ibis.coalesce(both.stage, both.stage_right),
            persona=ibis.coalesce(both.persona, both.persona_right),
            reached=both.customer_id.notnull(),
            asked=both.customer_id_right.notnull(),
            answered=both.answered.fill_null(False))
    else:
        both = per.mutate(reached=ibis.literal(False), asked=ibis.literal(True))
    metrics = dict(reached=both.reached.sum(), asked=both.asked.sum(), answered=both.answered.sum(),
                   answered_reached=(both.answered & both.reached).sum())
    frames.append(execute(both.group_by("stage").agg(**metrics)).assign(persona=ALL_PERSONAS))
    if personas is not None:
        frames.append(execute(both.group_by("stage", "persona").agg(**metrics)))
    out = pd.concat(frames, ignore_index=True)
    counts = ["reached", "asked", "answered", "answered_reached"]
    out[counts] = out[counts].fillna(0).astype("int64")
    if not data.has_events:
        out["reached"] = pd.NA
        out["answered_reached"] = pd.NA
    if not with_invitations:
        out["asked"] = pd.NA
    if with_invitations:
        rate = out["answered"] / out["asked"].astype("float64").where(out["asked"].astype("float64") > 0)
    elif data.has_events:
        reached_f = out["reached"].astype("float64")
        rate = out["answered_reached"].astype("float64") / reached_f.where(reached_f > 0)
    else:
        rate = pd.Series(np.nan, index=out.index)
    out["response_rate"] = rate.astype("float64")
    stage_rank = {s: i for i, s in enumerate(data.stages)}
    persona_rank = lambda p: (0, "") if p == ALL_PERSONAS else ((2, p) if p == UNASSIGNED else (1, p))  # noqa: E731
    out = out.assign(_s=out["stage"].map(lambda s: (stage_rank.get(s, len(stage_rank)), s)),
                     _p=out["persona"].map(persona_rank))
    out = out.sort_values(["_s", "_p"]).reset_index(drop=True)
    return out[columns]


def cohens_h(p1: float, p2: float) -> float:
    """Cohen's h between two proportions: 2 asin(sqrt p1) - 2 asin(sqrt p2)."""
    if any(p is None or not np.isfinite(p) or p < 0 or p > 1 for p in (p1, p2)):
        return float("nan")
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


def answerer_differences(data, goal=None) -> pd.DataFrame:
    """Whether the customers who answered the survey behave like those who did not.

    Over customers with events: ``answered`` (any survey answer) vs ``not answered``.
    Rows ``goal`` (share reaching the goal, from :func:`journeylib.journey.goal_outcomes`;
    Cohen's h) and ``journey length`` (events per customer; Cohen's d, pooled SD).
    DataFrame[measure, answered, not_answered, n_answered, n_not_answered, effect,
    effect_kind, differs, note]; ``differs`` when |effect| > :data:`EFFECT_THRESHOLD`.
    Empty without events or survey.
    """
    from journeylib.journey import GoalError, goal_outcomes
    from journeylib.personas import effect_size

    columns = ["measure", "answered", "not_answered", "n_answered", "n_not_answered", "effect", "effect_kind",
               "differs", "note"]
    if data.survey is None or not data.has_events:
        return pd.DataFrame(columns=columns)
    ev = data.events
    per = ev.group_by(customer_id=ev.customer_id.cast("string")).agg(events=ev.count())
    s = data.survey.filter(_answered(data.survey))
    who = s.select(customer_id=s.customer_id.cast("string")).distinct().mutate(_answered=ibis.literal(True))
    per = per.left_join(who, "customer_id").select("customer_id", "events",
                                                   answered=ibis._["_answered"].fill_null(False))
    note = ""
    try:
        outcome = goal_outcomes(data, goal)
        outcome = outcome.select(customer_id=outcome.customer_id.cast("string"), converted=outcome.converted)
        per = per.left_join(outcome, "customer_id").select("customer_id", "events", "answered", "converted")
    except GoalError as exc:
        note = str(exc)
        per = per.mutate(converted=ibis.null("boolean"))
    frame = execute(per)
    yes, no = frame[frame["answered"].astype(bool)], frame[~frame["answered"].astype(bool)]
    rows = []
    label = (goal or data.goal).label if (goal or data.goal) is not None else "the goal"
    conv_yes = yes["converted"].dropna().astype(bool)
    conv_no = no["converted"].dropna().astype(bool)
    if len(conv_yes) and len(conv_no):
        p1, p2 = float(conv_yes.mean()), float(conv_no.mean())
        h = cohens_h(p1, p2)
        rows.append({"measure": f"reached {label}", "answered": p1, "not_answered": p2,
                     "n_answered": len(conv_yes), "n_not_answered": len(conv_no), "effect": h,
                     "effect_kind": "Cohen's h", "differs": abs(h) > EFFECT_THRESHOLD, "note": ""})
    else:
        rows.append({"measure": f"reached {label}", "answered": np.nan, "not_answered": np.nan,
                     "n_answered": len(conv_yes), "n_not_answered": len(conv_no), "effect": np.nan,
                     "effect_kind": "Cohen's h", "differs": False,
                     "note": note or f"{label} is known for too few of one group to compare."})
    d = effect_size(yes["events"].to_numpy(float), no["events"].to_numpy(float)) if len(yes) and len(no) else np.nan
    rows.append({"measure": "journey length (events)", "answered": yes["events"].mean() if len(yes) else np.nan,
                 "not_answered": no["events"].mean() if len(no) else np.nan, "n_answered": len(yes),
                 "n_not_answered": len(no), "effect": d, "effect_kind": "Cohen's d",
                 "differs": bool(np.isfinite(d) and abs(d) > EFFECT_THRESHOLD),
                 "note": "" if np.isfinite(d) else "needs customers who answered and customers who did not"})
    out = pd.DataFrame(rows, columns=columns)
    return out.astype({"answered": "float64", "not_answered": "float64", "n_answered": "int64",
                       "n_not_answered": "int64", "effect": "float64", "differs": "bool"})


def coverage_warnings(data, differences: pd.DataFrame | None = None) -> list[str]:
    """Plain sentences for the emotion curve: one per behaviour in which the customers who
    answered differ from those who did not (|effect| > 0.2), or why it cannot be told."""
    if data.survey is None:
        return []
    if not data.has_events:
        return ["Whether the people who answered are like those who did not needs touchpoint events: this "
                "dataset has survey answers only."]
    diff = answerer_differences(data) if differences is None else differences
    out = []
    for row in diff.itertuples(index=False):
        if row.n_answered and not row.n_not_answered and row.measure.startswith("journey"):
            out.append("Every customer with events answered the survey: there is no one to compare them with.")
        if not row.differs:
            continue
        if row.measure.startswith("reached"):
            goal = row.measure.removeprefix("reached ")
            more = row.answered > row.not_answered
            out.append(f"The people who answered reached {goal} {'more' if more else 'less'} often than those who "
                       f"did not ({row.answered:.0%} vs {row.not_answered:.0%}): the emotion curve may look "
                       f"{'better' if more else 'worse'} than the journey is.")
        else:
            longer = row.answered > row.not_answered
            out.append(f"The people who answered had {'longer' if longer else 'shorter'} journeys than those who "
                       f"did not ({row.answered:.1f} vs {row.not_answered:.1f} events on average): they saw "
                       f"{'more' if longer else 'less'} of the journey than most customers.")
    return out

"""Seeded generator of a realistic sample: six months of an online luggage shop.

Packwell sells suitcases, cabin trolleys and bags online (with one flagship store). Each
customer belongs to one hidden persona; the persona drives a Markov chain over the shop's
touchpoints, the pace of the journey, how often they answer the survey and how they feel.
Everything is vectorised with numpy so 100,000 customers (about a million events) take
seconds; the same seed always produces identical frames and files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from journeylib.schema import DEFAULT_STAGES

WINDOW_START = pd.Timestamp("2026-03-01")
WINDOW_END = pd.Timestamp("2026-08-31 23:59:59")
MAX_EVENTS = 45  # journeys longer than this are cut (keeps the simulation bounded)

A, C, I, P, R, V = DEFAULT_STAGES  # Awareness .. Advocacy

# How long after the previous event a touchpoint happens:
#   click: seconds to minutes within a visit (or a later visit, persona-dependent)
#   instant: 0-20 s, often the same second (ties), e.g. a cart error right after checkout
#   call: minutes, later: days (persona pace), delivery: 1-5 days, unbox: hours
# name, stage, channel, gap kind
TOUCHPOINTS: tuple[tuple[str, str, str, str], ...] = (
    ("Instagram ad", A, "Social", "later"),
    ("TikTok video", A, "Social", "later"),
    ("Influencer post", A, "Social", "later"),
    ("YouTube review", A, "Social", "later"),
    ("Google search", A, "Search", "click"),
    ("Price comparison site", A, "Search", "click"),
    ("Homepage", A, "Web", "click"),
    ("Category page", C, "Web", "click"),
    ("Product page", C, "Web", "click"),
    ("Size guide", C, "Web", "click"),
    ("Comparison page", C, "Web", "click"),
    ("Reviews page", C, "Web", "click"),
    ("Newsletter signup", C, "Email", "click"),
    ("Store visit", C, "Store", "later"),
    ("Wishlist", I, "Web", "click"),
    ("Price alert email", I, "Email", "later"),
    ("Add to cart", I, "Web", "click"),
    ("Checkout", I, "Web", "click"),
    ("Cart error", I, "Web", "instant"),
    ("Live chat", I, "Phone & chat", "call"),
    ("Support call", I, "Phone & chat", "call"),
    ("Order confirmation", P, "Email", "instant"),
    ("Delivery", R, "Delivery", "delivery"),
    ("Unboxing", R, "Delivery", "unbox"),
    ("Returns portal", R, "Web", "later"),
    ("Newsletter", R, "Email", "later"),
    ("App login", R, "App", "later"),
    ("Loyalty points", R, "App", "click"),
    ("Repeat order", R, "App", "click"),
    ("Product review", V, "Web", "later"),
    ("Referral link", V, "App", "later"),
    ("Instagram tag", V, "Social", "later"),
)
TP_NAMES = tuple(t[0] for t in TOUCHPOINTS)
TP_INDEX = {name: i for i, name in enumerate(TP_NAMES)}
END = len(TOUCHPOINTS)  # absorbing state
TOUCHPOINT_STAGE_MAP = {t[0]: t[1] for t in TOUCHPOINTS}

# The shop's baseline behaviour; personas override rows. Weights, END means "leaves".
GENERIC: dict[str, dict[str, float]] = {
    "Instagram ad": {"Product page": 0.6, "Homepage": 0.1, "END": 0.3},
    "TikTok video": {"Product page": 0.55, "Instagram ad": 0.1, "END": 0.35},
    "Influencer post": {"Product page": 0.6, "END": 0.4},
    "YouTube review": {"Google search": 0.4, "Product page": 0.4, "END": 0.2},
    "Google search": {"Product page": 0.5, "Category page": 0.25, "Comparison page": 0.1, "END": 0.15},
    "Price comparison site": {"Product page": 0.7, "END": 0.3},
    "Homepage": {"Category page": 0.5, "Product page": 0.3, "END": 0.2},
    "Category page": {"Product page": 0.7, "END": 0.3},
    "Product page": {"Size guide": 0.15, "Reviews page": 0.15, "Add to cart": 0.25,
                     "Category page": 0.1, "Wishlist": 0.05, "END": 0.3},
    "Size guide": {"Product page": 0.5, "Add to cart": 0.2, "END": 0.3},
    "Comparison page": {"Product page": 0.6, "END": 0.4},
    "Reviews page": {"Product page": 0.5, "Add to cart": 0.2, "END": 0.3},
    "Newsletter signup": {"Product page": 0.5, "END": 0.5},
    "Store visit": {"Product page": 0.3, "END": 0.7},
    "Wishlist": {"Price alert email": 0.3, "Product page": 0.2, "END": 0.5},
    "Price alert email": {"Product page": 0.6, "END": 0.4},
    "Add to cart": {"Checkout": 0.6, "Product page": 0.1, "END": 0.3},
    "Checkout": {"Order confirmation": 0.9, "Cart error": 0.04, "END": 0.06},
    "Cart error": {"Checkout": 0.4, "Live chat": 0.2, "Support call": 0.2, "END": 0.2},
    "Live chat": {"Checkout": 0.5, "Product page": 0.2, "END": 0.3},
    "Support call": {"Checkout": 0.5, "END": 0.5},
    "Order confirmation": {"Delivery": 0.97, "END": 0.03},
    "Delivery": {"Unboxing": 0.85, "END": 0.15},
    "Unboxing": {"Product review": 0.12, "Returns portal": 0.06, "App login": 0.1,
                 "Instagram tag": 0.05, "Newsletter": 0.07, "END": 0.6},
    "Returns portal": {"Newsletter": 0.15, "END": 0.85},
    "Newsletter": {"Product page": 0.35, "App login": 0.1, "END": 0.55},
    "App login": {"Repeat order": 0.15, "Loyalty points": 0.15, "Product page": 0.3, "END": 0.4},
    "Loyalty points": {"Repeat order": 0.3, "App login": 0.1, "END": 0.6},
    "Repeat order": {"Order confirmation": 0.95, "END": 0.05},
    "Product review": {"Referral link": 0.1, "App login": 0.2, "END": 0.7},
    "Referral link": {"App login": 0.3, "Instagram tag": 0.1, "END": 0.6},
    "Instagram tag": {"Referral link": 0.2, "END": 0.8},
}
MIX_GENERIC = 0.05  # share of every persona's step drawn from the baseline: personas overlap

PRODUCTS = ("cabin trolley", "large hard-shell suitcase", "weekender bag", "carry-on backpack",
            "garment bag", "kids' suitcase", "three-piece luggage set", "medium spinner case")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
DEVICES = ("Mobile", "Desktop", "Tablet")
REGIONS = ("London", "South East", "North West", "Midlands", "Scotland", "South West",
           "Yorkshire", "Wales", "North East", "Northern Ireland")
REGION_WEIGHTS = (0.2, 0.16, 0.12, 0.14, 0.09, 0.09, 0.08, 0.05, 0.04, 0.03)


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    start: dict[str, float]
    transitions: dict[str, dict[str, float]]
    session_break: float  # chance a click-type step starts a new visit days later
    later_days: float  # median gap between visits, days
    span_days: float  # typical journey span, keeps starts inside the window
    min_events: int  # nobody in the persona leaves before this many touchpoints
    response: tuple[float, ...]  # survey response rate per stage
    score: tuple[float, ...]  # mean feeling per stage (1-5)
    nps: float
    order_value: float  # median order value, GBP
    age: tuple[float, ...]
    device: tuple[float, ...]
    products: tuple[float, ...]


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="Social-first impulse buyers",
        share=0.26,
        start={"Instagram ad": 0.45, "TikTok video": 0.35, "Influencer post": 0.2},
        transitions={
            "Instagram ad": {"Product page": 0.6, "TikTok video": 0.15, "Influencer post": 0.2, "END": 0.05},
            "TikTok video": {"Product page": 0.6, "Instagram ad": 0.2, "Influencer post": 0.15, "END": 0.05},
            "Influencer post": {"Product page": 0.75, "Instagram ad": 0.2, "END": 0.05},
            "Product page": {"Add to cart": 0.85, "Reviews page": 0.1, "Instagram ad": 0.02, "END": 0.03},
            "Reviews page": {"Add to cart": 0.8, "END": 0.2},
            "Add to cart": {"Checkout": 0.95, "END": 0.05},
            "Checkout": {"Order confirmation": 0.95, "Cart error": 0.02, "END": 0.03},
            "Unboxing": {"Instagram tag": 0.45, "Product review": 0.05, "Returns portal": 0.08, "END": 0.42},
            "Instagram tag": {"END": 0.9, "Referral link": 0.1},
        },
        session_break=0.06, later_days=0.3, span_days=12, min_events=4,
        response=(0.2, 0.25, 0.3, 0.45, 0.35, 0.4),
        score=(3.7, 3.4, 3.5, 3.6, 3.1, 3.6),
        nps=7.0, order_value=79,
        age=(0.35, 0.35, 0.15, 0.08, 0.05, 0.02), device=(0.85, 0.1, 0.05),
        products=(0.35, 0.03, 0.25, 0.3, 0.02, 0.03, 0.0, 0.02),
    ),
    Persona(
        name="Researchers",
        share=0.22,
        start={"Google search": 0.6, "Price comparison site": 0.2, "YouTube review": 0.12, "Homepage": 0.08},
        transitions={
            "Google search": {"Product page": 0.4, "Comparison page": 0.3, "Reviews page": 0.15,
                              "Category page": 0.13, "END": 0.02},
            "Price comparison site": {"Product page": 0.6, "Comparison page": 0.35, "END": 0.05},
            "YouTube review": {"Google search": 0.6, "Product page": 0.35, "END": 0.05},
            "Homepage": {"Category page": 0.6, "Product page": 0.35, "END": 0.05},
            "Category page": {"Product page": 0.8, "Comparison page": 0.15, "END": 0.05},
            "Product page": {"Comparison page": 0.25, "Reviews page": 0.25, "Size guide": 0.15,
                             "Add to cart": 0.12, "Google search": 0.08, "Newsletter signup": 0.03,
                             "Store visit": 0.03, "Live chat": 0.02, "Wishlist": 0.03, "END": 0.04},
            "Comparison page": {"Product page": 0.5, "Reviews page": 0.3, "Google search": 0.15, "END": 0.05},
            "Reviews page": {"Product page": 0.45, "Comparison page": 0.25, "Size guide": 0.1,
                             "Add to cart": 0.12, "END": 0.04},
            "Size guide": {"Product page": 0.55, "Add to cart": 0.2, "Comparison page": 0.15, "END": 0.05},
            "Store visit": {"Product page": 0.6, "Add to cart": 0.2, "END": 0.2},
            "Newsletter signup": {"Product page": 0.6, "Comparison page": 0.3, "END": 0.1},
            "Live chat": {"Product page": 0.6, "Add to cart": 0.3, "END": 0.1},
            "Wishlist": {"Price alert email": 0.6, "Comparison page": 0.3, "END": 0.1},
            "Price alert email": {"Product page": 0.6, "Add to cart": 0.3, "END": 0.1},
            "Add to cart": {"Checkout": 0.85, "Comparison page": 0.1, "END": 0.05},
            "Checkout": {"Order confirmation": 0.95, "Cart error": 0.02, "END": 0.03},
            "Unboxing": {"Product review": 0.45, "Returns portal": 0.05, "Newsletter": 0.1, "END": 0.4},
            "Product review": {"Referral link": 0.08, "END": 0.92},
        },
        session_break=0.3, later_days=2.5, span_days=60, min_events=10,
        response=(0.3, 0.45, 0.5, 0.6, 0.5, 0.55),
        score=(4.2, 4.4, 4.2, 4.4, 4.5, 4.6),
        nps=8.6, order_value=189,
        age=(0.05, 0.18, 0.27, 0.25, 0.17, 0.08), device=(0.3, 0.62, 0.08),
        products=(0.1, 0.3, 0.05, 0.05, 0.05, 0.05, 0.25, 0.15),
    ),
    Persona(
        name="Checkout strugglers",
        share=0.17,
        start={"Google search": 0.35, "Instagram ad": 0.25, "Homepage": 0.25, "Price comparison site": 0.15},
        transitions={
            "Google search": {"Product page": 0.8, "Category page": 0.15, "END": 0.05},
            "Instagram ad": {"Product page": 0.92, "END": 0.08},
            "Homepage": {"Category page": 0.5, "Product page": 0.45, "END": 0.05},
            "Price comparison site": {"Product page": 0.9, "END": 0.1},
            "Category page": {"Product page": 0.9, "END": 0.1},
            "Product page": {"Add to cart": 0.7, "Size guide": 0.1, "Reviews page": 0.12, "END": 0.08},
            "Size guide": {"Add to cart": 0.7, "Product page": 0.25, "END": 0.05},
            "Reviews page": {"Add to cart": 0.7, "Product page": 0.25, "END": 0.05},
            "Add to cart": {"Checkout": 0.95, "END": 0.05},
            "Checkout": {"Cart error": 0.98, "Order confirmation": 0.02},
            "Cart error": {"Support call": 0.45, "Live chat": 0.2, "Checkout": 0.15, "END": 0.2},
            # The phone team can take the order when the cart keeps failing.
            "Support call": {"Order confirmation": 0.55, "Checkout": 0.1, "END": 0.35},
            "Live chat": {"Checkout": 0.4, "Support call": 0.2, "END": 0.4},
            "Unboxing": {"Returns portal": 0.1, "Product review": 0.1, "END": 0.8},
        },
        session_break=0.12, later_days=1.0, span_days=20, min_events=6,
        response=(0.2, 0.3, 0.55, 0.6, 0.35, 0.3),
        score=(3.6, 3.6, 3.0, 3.0, 3.4, 3.0),
        nps=5.5, order_value=119,
        age=(0.08, 0.2, 0.22, 0.2, 0.18, 0.12), device=(0.55, 0.35, 0.1),
        products=(0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1),
    ),
    Persona(
        name="Loyal advocates",
        share=0.15,
        start={"App login": 0.5, "Newsletter": 0.4, "Store visit": 0.1},
        transitions={
            "App login": {"Repeat order": 0.5, "Loyalty points": 0.2, "Product page": 0.12,
                          "Referral link": 0.12, "END": 0.06},
            "Newsletter": {"App login": 0.65, "Product page": 0.3, "END": 0.05},
            "Store visit": {"App login": 0.4, "Product page": 0.3, "END": 0.3},
            "Product page": {"Add to cart": 0.5, "Reviews page": 0.1, "App login": 0.2, "END": 0.2},
            "Add to cart": {"Checkout": 0.9, "END": 0.1},
            "Checkout": {"Order confirmation": 0.96, "Cart error": 0.02, "END": 0.02},
            "Loyalty points": {"Repeat order": 0.5, "Referral link": 0.2, "App login": 0.2, "END": 0.1},
            "Order confirmation": {"Delivery": 0.98, "END": 0.02},
            "Delivery": {"Unboxing": 0.72, "App login": 0.25, "END": 0.03},
            "Unboxing": {"Product review": 0.35, "Referral link": 0.25, "App login": 0.27,
                         "Instagram tag": 0.05, "END": 0.08},
            "Product review": {"Referral link": 0.3, "App login": 0.55, "END": 0.15},
            "Referral link": {"App login": 0.6, "Instagram tag": 0.1, "Newsletter": 0.15, "END": 0.15},
            "Instagram tag": {"App login": 0.5, "Referral link": 0.25, "END": 0.25},
        },
        session_break=0.5, later_days=4, span_days=120, min_events=6,
        response=(0.2, 0.3, 0.35, 0.5, 0.5, 0.6),
        score=(4.4, 4.3, 4.4, 4.6, 4.6, 4.8),
        nps=9.4, order_value=129,
        age=(0.04, 0.18, 0.3, 0.26, 0.15, 0.07), device=(0.72, 0.2, 0.08),
        products=(0.15, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1, 0.15),
    ),
    Persona(
        name="Window shoppers",
        share=0.20,
        start={"Google search": 0.35, "Homepage": 0.3, "Instagram ad": 0.06,
               "Price comparison site": 0.25, "TikTok video": 0.04},
        transitions={
            "Google search": {"Category page": 0.5, "Product page": 0.4, "END": 0.1},
            "Homepage": {"Category page": 0.7, "Product page": 0.2, "END": 0.1},
            "Instagram ad": {"Product page": 0.7, "Category page": 0.1, "END": 0.2},
            "TikTok video": {"Product page": 0.7, "END": 0.3},
            "Price comparison site": {"Product page": 0.8, "END": 0.2},
            "Category page": {"Product page": 0.65, "Category page": 0.1, "END": 0.25},
            "Product page": {"Size guide": 0.15, "Category page": 0.15, "Wishlist": 0.07,
                             "Add to cart": 0.03, "END": 0.6},
            "Size guide": {"Product page": 0.3, "END": 0.7},
            "Wishlist": {"END": 0.85, "Product page": 0.15},
            "Add to cart": {"Checkout": 0.25, "END": 0.75},
        },
        session_break=0.15, later_days=1.5, span_days=20, min_events=1,
        response=(0.2, 0.25, 0.2, 0.3, 0.3, 0.3),
        score=(3.3, 2.9, 3.1, 3.5, 3.5, 3.5),
        nps=7.0, order_value=99,
        age=(0.22, 0.3, 0.2, 0.13, 0.1, 0.05), device=(0.6, 0.3, 0.1),
        products=(0.15, 0.15, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1),
    ),
)

# Survey comments. {product} is filled with the customer's product. Problem-specific lines
# are used when the customer actually met the problem, so quotes match the journey.
POSITIVE = {
    A: ["The {product} looked great at first sight.", "Loved seeing the {product} actually being used.",
        "Good first impression, the brand looks trustworthy.", "The search result took me straight to what I wanted."],
    C: ["The size guide made it easy to pick the right {product}.", "Loved the honest reviews with photos.",
        "The comparison page answered all my questions about the {product}.",
        "Lots of detail on weight and dimensions, exactly what I needed.", "Great photos, I could see every pocket."],
    I: ["Adding the {product} to the cart was quick.", "Price alert worked, I got the {product} on offer.",
        "Chat agent helped me choose between two sizes.", "Smooth, no surprises in the basket."],
    P: ["Checkout took less than a minute.", "Paid with Apple Pay, super easy.", "Order confirmation arrived instantly.",
        "Easy checkout and the delivery options were clear."],
    R: ["The {product} arrived a day early and looks even better in person.", "Delivery was fast and the packaging was nice.",
        "Really sturdy, the wheels glide on any floor.", "The app makes reordering so easy.",
        "Loyalty points paid for my second bag."],
    V: ["Happy to recommend the {product} to friends.", "Already sent my referral link to my sister.",
        "Wrote a five star review, it deserves it.", "Posted my {product} on Instagram, got lots of questions."],
}
NEUTRAL = {
    A: ["Just an ad, nothing special.", "Found you by chance.", "OK, I was looking for luggage anyway."],
    C: ["Hard to tell the colours apart from the photos.", "Would like more reviews for the {product}.",
        "Fine, but it took a while to compare sizes.", "Decent information, a bit scattered."],
    I: ["Shipping costs only showed up late.", "Fine, though the wishlist is hard to find.", "It was OK."],
    P: ["Checkout was alright.", "Payment worked, confirmation email was a bit late.", "Average, nothing to report."],
    R: ["The {product} is fine, a bit heavier than I expected.", "Delivery on time, box was a bit battered.",
        "Does the job.", "Colour slightly different from the website."],
    V: ["Might recommend it, depends on how the {product} holds up.", "Not sure yet.", "It's a decent bag."],
}
NEGATIVE = {
    A: ["Too many ads following me around.", "The ad promised a discount that did not exist."],
    C: ["Prices are too high compared to other shops.", "Could not find the dimensions of the {product}.",
        "The size guide contradicts the product page.", "Reviews page kept loading forever."],
    I: ["Shipping cost was a nasty surprise.", "The basket emptied itself when I came back.",
        "Too many upsells before I could check out."],
    P: ["Checkout was slow and confusing.", "Had to enter my address three times.", "Payment options are limited."],
    R: ["The {product} arrived with a scratch.", "One wheel squeaks after two trips.",
        "The zip on the {product} broke on the first trip.", "Courier left it in the rain."],
    V: ["Would not recommend after my experience.", "Disappointed, expected more for the price."],
}
CART_ERROR = [
    "The cart threw an error at payment and I had to start again.",
    "Got 'something went wrong' three times at checkout.",
    "My card was charged but the cart said the payment failed.",
    "Voucher code crashed the checkout, had to call support.",
    "Cart error on mobile, the pay button just spun forever.",
    "Checkout kept failing, spent 40 minutes on the phone to order a {product}.",
    "Support was kind but the cart error should never happen.",
    "Tried twice, got an error each time, gave up for the day.",
]
CART_ERROR_RECOVERED = [
    "Finally paid after the cart error, support sorted it out.",
    "Managed to order the {product} on the third try after the cart error.",
    "The phone team fixed the checkout problem, but what a hassle.",
]
LATE_DELIVERY = [
    "Delivery was five days late and nobody told me.",
    "The {product} arrived after my trip, so I had to use my old bag.",
    "Tracking said delivered but it came three days later.",
    "Late delivery, had to chase the courier twice.",
]
RETURNED = [
    "Had to return the {product}, the handle was loose.",
    "Returned it, the {product} was smaller than the size guide said.",
    "Return was easy, but I shouldn't have needed it.",
    "The {product} was damaged, returns portal took ages to refund.",
]
PROBLEM_PENALTY = {"cart_error": 1.4, "late": 1.6, "returned": 1.3}


def _transition_matrix(persona: Persona, allow_end: bool = True) -> np.ndarray:
    """Cumulative transition probabilities [from, to] with END as the last column."""
    n = len(TOUCHPOINTS)

    def dense(rows: dict[str, dict[str, float]]) -> np.ndarray:
        mat = np.zeros((n, n + 1))
        for src in TP_NAMES:
            row = rows.get(src, GENERIC.get(src, {"END": 1.0}))
            for dst, w in row.items():
                mat[TP_INDEX[src], END if dst == "END" else TP_INDEX[dst]] += w
        return mat / mat.sum(axis=1, keepdims=True)

    # The baseline only adds detours, never extra exits: each persona keeps its own pace.
    detour = dense(GENERIC)
    detour[:, END] = 0
    detour /= detour.sum(axis=1, keepdims=True)
    mixed = (1 - MIX_GENERIC) * dense(persona.transitions) + MIX_GENERIC * detour
    if not allow_end:
        stays = mixed[:, :END].sum(axis=1, keepdims=True) > 0
        mixed = np.where(stays, np.hstack([mixed[:, :END], np.zeros((n, 1))]), mixed)
        mixed /= mixed.sum(axis=1, keepdims=True)
    cum = np.cumsum(mixed, axis=1)
    cum[:, -1] = 1.0
    return cum


def _choice(rng: np.random.Generator, probs: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Draw one category per row from per-row probability tables probs[idx]."""
    cum = np.cumsum(probs, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(idx))
    return (cum[idx] < u[:, None]).sum(axis=1).clip(max=probs.shape[1] - 1)


def _simulate_paths(rng, persona_of, n):
    """Touchpoint index per (customer, step); -1 after the journey ends."""
    cums = np.stack([_transition_matrix(p) for p in PERSONAS])
    cums_stay = np.stack([_transition_matrix(p, allow_end=False) for p in PERSONAS])
    min_events = np.array([p.min_events for p in PERSONAS])
    starts = np.zeros((len(PERSONAS), len(TOUCHPOINTS)))
    for k, p in enumerate(PERSONAS):
        for name, w in p.start.items():
            starts[k, TP_INDEX[name]] = w
    paths = np.full((n, MAX_EVENTS), -1, dtype=np.int16)
    cur = _choice(rng, starts, persona_of)
    paths[:, 0] = cur
    alive = np.arange(n)
    for step in range(1, MAX_EVENTS):
        u = rng.random(len(alive))
        who = persona_of[alive]
        rows = np.where((step < min_events[who])[:, None], cums_stay[who, cur], cums[who, cur])
        nxt = (rows < u[:, None]).sum(axis=1)
        keep = nxt != END
        alive, cur = alive[keep], nxt[keep]
        if len(alive) == 0:
            break
        paths[alive, step] = cur
    return paths


def _gaps(rng, tp, persona, first):
    """Seconds between each event and the previous one of the same customer."""
    kind = np.array([t[3] for t in TOUCHPOINTS])[tp]
    m = len(tp)
    brk = np.array([p.session_break for p in PERSONAS])[persona]
    later_med = np.array([p.later_days for p in PERSONAS])[persona] * 86400
    later = later_med * np.exp(rng.normal(0, 0.8, m))
    click = rng.exponential(75, m) + 3
    gap = np.where(kind == "later", later, click)
    gap = np.where((kind == "click") & (rng.random(m) < brk), later, gap)
    instant = np.where(rng.random(m) < 0.45, 0.0, rng.uniform(1, 20, m))
    gap = np.where(kind == "instant", instant, gap)
    gap = np.where(kind == "call", rng.uniform(120, 1800, m), gap)
    gap = np.where(kind == "delivery", rng.gamma(4, 0.6, m) * 86400, gap)
    gap = np.where(kind == "unbox", rng.uniform(600, 20 * 3600, m), gap)
    # Two page views logged in the same second (double clicks, prefetch): realistic ties.
    gap = np.where((kind == "click") & (rng.random(m) < 0.03), 0.0, gap)
    gap[first] = 0.0
    return np.floor(gap)


def _pick(rng, options: list[str], n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]


def generate_sample(n_customers: int = 5000, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Generate the sample shop's data.

    Returns frames ``touchpoints`` (customer_id, timestamp, touchpoint, stage, channel),
    ``survey`` (customer_id, timestamp, stage, touchpoint, score, comment, nps),
    ``customers`` (customer_id, age_band, region, device, total_spend) and ``truth``
    (customer_id, persona): the hidden persona, for checking persona discovery only.
    """
    if int(n_customers) < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    n = int(n_customers)
    rng = np.random.default_rng(seed)
    width = max(5, len(str(n)))
    ids = np.array([f"C{i:0{width}d}" for i in range(1, n + 1)], dtype=object)
    shares = np.array([p.share for p in PERSONAS])
    persona_of = rng.choice(len(PERSONAS), size=n, p=shares / shares.sum())

    paths = _simulate_paths(rng, persona_of, n)
    cust, step = np.nonzero(paths >= 0)  # row-major: grouped by customer, steps in order
    tp = paths[cust, step].astype(np.int64)
    per = persona_of[cust]

    # Journeys start on a random day (leaving room for the persona's usual span), mostly
    # in the evening; then each event follows the previous one by a touchpoint-typical gap.
    window_days = (WINDOW_END - WINDOW_START).total_seconds() / 86400
    span = np.array([p.span_days for p in PERSONAS])[persona_of]
    start_day = np.floor(rng.random(n) * np.maximum(window_days - span, 7))
    hour = np.mod(rng.normal(19.5, 3.5, n), 24)
    start = start_day * 86400 + np.floor(hour * 3600)
    first = step == 0
    gap = _gaps(rng, tp, per, first)
    starts_at = np.flatnonzero(first)
    lengths = np.diff(np.append(starts_at, len(gap)))
    while True:
        csum = np.cumsum(gap)
        offset = csum - np.repeat(csum[starts_at], lengths) + start[cust]
        # The same touchpoint twice in the same second would be an exact duplicate row,
        # which loaders rightly drop; nudge the later one by a second.
        twin = pd.DataFrame({"c": cust, "o": offset, "t": tp}).duplicated().to_numpy()
        if not twin.any():
            break
        gap[twin] += 1
    inside = offset <= window_days * 86400
    cust, step, tp, per, offset = cust[inside], step[inside], tp[inside], per[inside], offset[inside]
    ts = WINDOW_START.to_datetime64() + (offset * 1e9).astype("timedelta64[ns]")

    stage_arr = np.array([t[1] for t in TOUCHPOINTS], dtype=object)
    channel_arr = np.array([t[2] for t in TOUCHPOINTS], dtype=object)
    name_arr = np.array(TP_NAMES, dtype=object)
    ev = pd.DataFrame({"cust": cust, "step": step, "ts": ts, "tp": tp})

    # Customer-level facts the survey and attributes depend on.
    had = lambda name: np.bincount(cust[tp == TP_INDEX[name]], minlength=n)  # noqa: E731
    orders = had("Order confirmation")
    cart_errors = had("Cart error")
    returned = had("Returns portal") > 0
    deliveries = ev[ev.tp == TP_INDEX["Delivery"]]
    late = np.zeros(n, dtype=bool)
    late_pick = rng.random(len(deliveries)) < 0.08
    late[deliveries.cust.to_numpy()[late_pick]] = True
    product_probs = np.array([p.products for p in PERSONAS])
    product = np.asarray(PRODUCTS, dtype=object)[_choice(rng, product_probs, persona_of)]

    survey = _survey(rng, ev, persona_of, stage_arr, name_arr, orders, cart_errors, late, returned, product)

    ages = _choice(rng, np.array([p.age for p in PERSONAS]), persona_of)
    devices = _choice(rng, np.array([p.device for p in PERSONAS]), persona_of)
    regions = rng.choice(len(REGIONS), size=n, p=np.array(REGION_WEIGHTS) / sum(REGION_WEIGHTS))
    order_value = np.array([p.order_value for p in PERSONAS])[persona_of]
    spend = np.round(orders * order_value * np.exp(rng.normal(0, 0.35, n)), 2)

    order = np.lexsort((step, cust, ts))  # a shop log: by time, ties in journey order
    touchpoints = pd.DataFrame({
        "customer_id": ids[cust[order]],
        "timestamp": ts[order],
        "touchpoint": name_arr[tp[order]],
        "stage": stage_arr[tp[order]],
        "channel": channel_arr[tp[order]],
    })
    customers = pd.DataFrame({
        "customer_id": ids,
        "age_band": np.asarray(AGE_BANDS, dtype=object)[ages],
        "region": np.asarray(REGIONS, dtype=object)[regions],
        "device": np.asarray(DEVICES, dtype=object)[devices],
        "total_spend": spend,
    })
    truth = pd.DataFrame({"customer_id": ids,
                          "persona": np.array([p.name for p in PERSONAS], dtype=object)[persona_of]})
    survey.insert(0, "customer_id", ids[survey.pop("cust").to_numpy()])
    return {"touchpoints": touchpoints, "survey": survey, "customers": customers, "truth": truth}


def _survey(rng, ev, persona_of, stage_arr, name_arr, orders, cart_errors, late, returned, product):
    """One possible answer per customer and stage reached, rated after their last touchpoint there."""
    stage_names = list(DEFAULT_STAGES)
    stage_idx = {s: i for i, s in enumerate(stage_names)}
    ev = ev.assign(stage=np.array([stage_idx[s] for s in stage_arr])[ev.tp.to_numpy()])
    last = ev.drop_duplicates(["cust", "stage"], keep="last")  # events are in journey order
    cust = last.cust.to_numpy()
    stage = last.stage.to_numpy()
    per = persona_of[cust]
    rate = np.array([p.response for p in PERSONAS])[per, stage]
    answered = rng.random(len(cust)) < rate
    last, cust, stage, per = last[answered], cust[answered], stage[answered], per[answered]
    m = len(cust)

    mean = np.array([p.score for p in PERSONAS])[per, stage]
    cart = (cart_errors[cust] > 0) & ((stage == stage_idx[I]) | (stage == stage_idx[P]))
    late_r = late[cust] & (stage == stage_idx[R])
    ret_r = returned[cust] & (stage == stage_idx[R]) & ~late_r
    mean = (mean - PROBLEM_PENALTY["cart_error"] * cart - PROBLEM_PENALTY["late"] * late_r
            - PROBLEM_PENALTY["returned"] * ret_r)
    score = np.clip(np.rint(rng.normal(mean, 0.75)), 1, 5).astype(np.int64)

    # Comments: about a third of answers, more for strong feelings.
    p_comment = np.where((score <= 2) | (score == 5), 0.5, 0.28)
    has_comment = rng.random(m) < p_comment
    comment = np.full(m, None, dtype=object)
    for s_i, s in enumerate(stage_names):
        for bank, mask in ((POSITIVE[s], score >= 4), (NEUTRAL[s], score == 3), (NEGATIVE[s], score <= 2)):
            sel = has_comment & (stage == s_i) & mask
            comment[sel] = _pick(rng, bank, int(sel.sum()))
    bought = orders[cust] > 0
    problems = (
        (cart & (score <= 3) & (stage == stage_idx[I]), CART_ERROR),
        (cart & (score <= 3) & (stage == stage_idx[P]) & bought, CART_ERROR_RECOVERED + CART_ERROR[:3]),
        (late_r & (score <= 3), LATE_DELIVERY),
        (ret_r & (score <= 3), RETURNED),
    )
    for mask, bank in problems:
        sel = has_comment & mask
        comment[sel] = _pick(rng, bank, int(sel.sum()))
    filled = np.array([c is not None and "{product}" in c for c in comment])
    comment[filled] = [c.format(product=pr) for c, pr in zip(comment[filled], product[cust[filled]])]

    # NPS is asked in the post-purchase survey, so it sits on the Purchase row of buyers.
    nps_mean = np.array([p.nps for p in PERSONAS])[per] - 1.5 * cart
    nps = np.clip(np.rint(rng.normal(nps_mean, 1.3)), 0, 10)
    asked = (stage == stage_idx[P]) & bought & (rng.random(m) < 0.9)
    nps = pd.array(np.where(asked, nps, np.nan), dtype="Int64")

    # The survey goes out a little after the customer's last touchpoint in the stage.
    delay = rng.uniform(600, 2 * 86400, m).astype("timedelta64[s]")
    ts = np.minimum(last.ts.to_numpy() + delay, WINDOW_END.to_datetime64())
    frame = pd.DataFrame({
        "cust": cust,
        "timestamp": ts.astype("datetime64[ns]"),
        "stage": np.asarray(stage_names, dtype=object)[stage],
        "touchpoint": name_arr[last.tp.to_numpy()],
        "score": score,
        "comment": comment,
        "nps": nps,
    })
    return frame.sort_values(["timestamp", "cust"], kind="stable").reset_index(drop=True)


def write_sample(out_dir, n_customers: int = 5000, seed: int = 7) -> list[Path]:
    """Generate the sample and write touchpoints.csv, survey.csv, customers.csv, truth.csv."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = generate_sample(n_customers, seed)
    paths = []
    for name in ("touchpoints", "survey", "customers", "truth"):
        path = out / f"{name}.csv"
        frame = frames[name]
        if "timestamp" in frame.columns:
            frame = frame.assign(timestamp=frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"))
        tmp = path.with_suffix(".csv.tmp")
        frame.to_csv(tmp, index=False, lineterminator="\n")
        tmp.replace(path)
        paths.append(path)
    return paths

"""How the names in people's files read as words: column names and codes made for machines
(``SeatComfort``, ``case:AMOUNT_REQ``, ``Food&Beverages``) said the way a person would."""

from __future__ import annotations

import re

__all__ = ["readable", "label", "looks_like_code", "ABBREVIATIONS"]

# Abbreviations seen in exported column names, and what they stand for.
ABBREVIATIONS = {
    "req": "requested", "amt": "amount", "qty": "quantity", "num": "number", "nr": "number",
    "dept": "department", "cust": "customer", "avg": "average", "tot": "total", "pct": "percent",
    "reg": "registration", "desc": "description", "dur": "duration", "cat": "category",
    "addr": "address", "tel": "telephone", "svc": "service", "acct": "account", "org": "organisation",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def looks_like_code(text: str) -> bool:
    """A name made for machines (SeatComfort, AMOUNT_REQ, case:channel) rather than people."""
    if " " in text.strip():
        return False
    return bool(re.search(r"[_:&]", text) or _CAMEL.search(text) or (text.isupper() and len(text) > 3))


def readable(name: str) -> str:
    """A column name or code as words: ``case:AMOUNT_REQ`` -> "amount requested",
    ``TypeOfTraveller`` -> "type of traveller", ``Food&Beverages`` -> "food & beverages".
    Names that already read as words are kept as they are."""
    text = str(name).strip()
    if not looks_like_code(text):
        return text
    text = text.rsplit(":", 1)[-1]  # namespaces of exports: case:, org:, concept:
    text = _CAMEL.sub(" ", text)
    text = re.sub(r"[_.\-]+", " ", text).replace("&", " & ")
    words = [ABBREVIATIONS.get(w.lower(), w.lower()) for w in text.split()]
    return " ".join(words) or str(name)




def label(name: str) -> str:
    """:func:`readable` with a capital first letter, for a label on its own ("Seat comfort");
    a code with no word in it (``Q33_1``) is kept as it is."""
    text = readable(name)
    if not any(w.isalpha() and len(w) >= 3 for w in text.split()):
        return str(name)
    return text[:1].upper() + text[1:] if text else text

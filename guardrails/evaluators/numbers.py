"""Numbers, units, percentages, fractions, spelled-out numbers, clock times and dates.

:func:`quantities` finds every quantity in a text and normalises it to a base unit per
dimension, so that "3 hours 30 minutes", "210 min" and "three and a half hours" are the same
``Quantity("time", 12600.0)``; "0.01%", "one in ten thousand" and "1/10000" are the same
ratio; "3 pm" and "15:00" the same clock time; "March 1st, 2026" and "2026-03-01" the same
day ("date" = month*100 + day, and the year separately). :class:`NumberPool` holds the
quantities of the sources and says whether a claimed quantity is among them, or follows from
two of them by one arithmetic step (12 payments of 39 = 468).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = ["QUANTITY_WORDS", "UNIT_WORDS", "NumberPool", "Quantity", "quantities"]

_UNITS: Final[dict[str, tuple[str, float]]] = {}


def _unit(dim: str, factor: float, *names: str) -> None:
    for name in names:
        _UNITS[name] = (dim, factor)


_unit("time", 1, "s", "sec", "secs", "second", "seconds")
_unit("time", 60, "min", "mins", "minute", "minutes")
_unit("time", 3600, "h", "hr", "hrs", "hour", "hours")
_unit("time", 86400, "day", "days", "night", "nights")
_unit("time", 7 * 86400, "week", "weeks", "wk", "wks")
_unit("time", 14 * 86400, "fortnight", "fortnights")
_unit("time", 30.4375 * 86400, "month", "months")
_unit("time", 365.25 * 86400, "year", "years", "yr", "yrs")
_unit("length", 0.001, "mm", "millimetre", "millimetres", "millimeter", "millimeters")
_unit("length", 0.01, "cm", "centimetre", "centimetres", "centimeter", "centimeters")
_unit("length", 1, "m", "metre", "metres", "meter", "meters")
_unit("length", 1000, "km", "kilometre", "kilometres", "kilometer", "kilometers")
_unit("length", 0.0254, "inch", "inches")
_unit("length", 0.3048, "ft", "foot", "feet")
_unit("length", 1609.344, "mi", "mile", "miles")
_unit("mass", 0.001, "mg", "milligram", "milligrams")
_unit("mass", 1, "g", "gram", "grams")
_unit("mass", 1000, "kg", "kilo", "kilos", "kilogram", "kilograms")
_unit("mass", 453.592, "lb", "lbs", "pound-weight")
_unit("volume", 0.001, "ml", "millilitre", "millilitres", "milliliter", "milliliters")
_unit("volume", 1, "l", "litre", "litres", "liter", "liters")
_unit("data", 1e3, "kb", "kilobyte", "kilobytes")
_unit("data", 1e6, "mb", "megabyte", "megabytes")
_unit("data", 1e9, "gb", "gigabyte", "gigabytes")
_unit("data", 1e12, "tb", "terabyte", "terabytes")
_unit("rate", 1e3, "kbps")
_unit("rate", 1e6, "mbps")
_unit("rate", 1e9, "gbps")
_unit("ratio", 0.01, "%", "percent", "per-cent", "pct")
_unit("usd", 1, "$", "usd", "dollar", "dollars")
_unit("eur", 1, "€", "eur", "euro", "euros")
_unit("gbp", 1, "£", "gbp", "pound", "pounds", "quid")
_unit("gbp", 0.01, "p", "pence", "penny")
_unit("usd", 0.01, "cent", "cents")

UNIT_WORDS: Final = frozenset(_UNITS)
_CURRENCY_SIGNS: Final = {"$": "usd", "€": "eur", "£": "gbp"}
_ONES: Final = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12, "double": 2,
    "twice": 2, "triple": 3, "once": 1,
}  # fmt: skip
_SCALES: Final = {"hundred": 100, "thousand": 1000, "million": 1e6, "billion": 1e9}
_FRACTIONS: Final = {
    "half": 0.5, "halves": 0.5, "third": 1 / 3, "thirds": 1 / 3, "quarter": 0.25,
    "quarters": 0.25, "fifth": 0.2, "fifths": 0.2, "tenth": 0.1, "tenths": 0.1,
}  # fmt: skip
_MONTHS: Final = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_STARTERS: Final = frozenset(
    {*_ONES, *_SCALES, *_FRACTIONS, *_MONTHS, *_CURRENCY_SIGNS, "a", "an", "noon", "midday",
     "midnight"}
)  # fmt: skip
#: Number words and months (how a quantity may be spelled out).
QUANTITY_WORDS: Final = frozenset(_STARTERS) - {"a", "an"}
_APPROX: Final = frozenset(
    "about around roughly approximately nearly almost some circa approx just over under "
    "~ some close".split()
)

_TOKEN = re.compile(
    r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}|\d{1,2}:\d{2}|\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th)?"
    r"|°\s?[cf]\b|[a-z]+(?:-[a-z]+)*|[%$€£/~\u2013\u2014\u00d7]|(?<=\d)-(?=\d)",
    re.IGNORECASE,
)


_DAY_KINDS: Final = frozenset({"business", "working", "calendar", "clear", "school", "bank"})
_CHAIN: Final = frozenset({"to", "and", "or", "x", "by", "\u00d7", "-", "\u2013", "\u2014"})


@dataclass(frozen=True, slots=True)
class Quantity:
    """A normalised quantity: dimension (``count``, ``time``, ``ratio``, ``usd``, ``date``,
    ``year``, ``clock``...), value in the base unit, whether it was hedged ("about"), and the
    character span it came from."""

    dim: str
    value: float
    approx: bool = False
    start: int = 0
    end: int = 0


def _number_word(words: list[str], i: int) -> tuple[float, int] | None:
    """A spelled-out number starting at ``words[i]`` ("twenty-five", "two hundred")."""
    total, current, j, seen = 0.0, 0.0, i, False
    while j < len(words):
        word = words[j]
        parts = word.split("-")
        if all(p in _ONES for p in parts) and not (seen and current % 10):
            current += sum(_ONES[p] for p in parts)
        elif word in _SCALES and seen:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0.0
        elif word == "and" and seen and j + 1 < len(words) and words[j + 1] in _ONES:
            pass
        else:
            break
        seen = True
        j += 1
    if not seen:
        return None
    return total + current, j - i


def _parse_digits(token: str) -> float | None:
    text = re.sub(r"(st|nd|rd|th)$", "", token.replace(",", ""))
    try:
        return float(text)
    except ValueError:
        return None


def quantities(text: str) -> list[Quantity]:
    """Every quantity in ``text``, normalised (see the module docstring)."""
    matches = list(_TOKEN.finditer(text))
    words = [m.group(0).lower() for m in matches]
    found: list[Quantity] = []
    i = 0
    after_quantity = -10
    while i < len(words):
        if i - after_quantity in (0, 1) and words[i] in ("a", "an", "per", "each", "every"):
            i += 2  # a rate: "£0.53 a day", "10 requests per second"
            continue
        word = words[i]
        if not (word[0].isdigit() or word in _STARTERS or "-" in word):
            i += 1
            continue
        consumed, quantity = _at(words, i)
        if quantity is not None:
            approx = any(w in _APPROX for w in words[max(0, i - 2) : i])
            end = matches[i + consumed - 1].end()
            found.append(Quantity(quantity[0], quantity[1], approx, matches[i].start(), end))
            i += consumed
            after_quantity = i
        else:
            i += 1
    return _merge_durations(text, found)


def _merge_durations(text: str, found: list[Quantity]) -> list[Quantity]:
    """ "3 hours 30 minutes" -> one time quantity (adjacent time quantities, larger first)."""
    merged: list[Quantity] = []
    for q in found:
        last = merged[-1] if merged else None
        if (
            last is not None
            and q.dim == last.dim == "time"
            and q.value < last.value
            and q.start - last.end <= 6
            and "," not in text[last.end : q.start]
        ):
            merged[-1] = Quantity("time", last.value + q.value, last.approx, last.start, q.end)
        else:
            merged.append(q)
    return merged


def _unit_after(words: list[str], j: int) -> tuple[str, float, int] | None:
    """The unit at ``words[j]`` (skipping "of"), or none."""
    if j < len(words) and words[j] == "per" and j + 1 < len(words) and words[j + 1] == "cent":
        return "ratio", 0.01, 2
    if j < len(words) and words[j] in _UNITS:
        dim, factor = _UNITS[words[j]]
        return dim, factor, 1
    if j + 1 < len(words) and words[j] in _DAY_KINDS and words[j + 1] in _UNITS:
        dim, factor = _UNITS[words[j + 1]]
        return dim, factor, 2  # "14 calendar days", "2 business days"
    return None


def _at(words: list[str], i: int) -> tuple[int, tuple[str, float] | None]:
    word = words[i]
    # ISO date
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        y, m, d = (int(p) for p in word.split("-"))
        return 1, ("date", m * 100 + d + y * 10000)
    # day/month/year (day first, unless that cannot be)
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", word):
        d, m, y = (int(p) for p in word.split("/"))
        if m > 12 >= d:
            d, m = m, d
        return 1, ("date", y * 10000 + m * 100 + d)
    # clock time: 15:00, 3 pm, 3:30 pm, midnight, noon
    if re.fullmatch(r"\d{1,2}:\d{2}", word):
        h, mi = (int(p) for p in word.split(":"))
        if i + 1 < len(words) and words[i + 1] in ("am", "pm"):
            h = h % 12 + (12 if words[i + 1] == "pm" else 0)
            return 2, ("clock", h * 60 + mi)
        return 1, ("clock", h * 60 + mi)
    # "half past five", "quarter to nine", "half past midnight"
    if word in ("half", "quarter") and i + 2 < len(words) and words[i + 1] in ("past", "to"):
        hour_word = words[i + 2]
        at_hour = {"midnight": 0, "noon": 12, "midday": 12}.get(hour_word)
        if at_hour is None:
            spelled = _number_word(words, i + 2)
            digits = _parse_digits(hour_word) if hour_word[0].isdigit() else None
            at_hour = int(spelled[0]) if spelled else int(digits) if digits is not None else None
        if at_hour is not None and 0 <= at_hour <= 24:
            minutes = (30 if word == "half" else 15) * (1 if words[i + 1] == "past" else -1)
            used = 3
            if i + 3 < len(words) and words[i + 3] in ("am", "pm"):
                at_hour = at_hour % 12 + (12 if words[i + 3] == "pm" else 0)
                used = 4
            elif words[i + 3 : i + 6] in (["in", "the", "evening"], ["in", "the", "afternoon"]):
                at_hour = at_hour % 12 + 12
            return used, ("clock", (at_hour * 60 + minutes) % 1440)
    if word in ("noon", "midday"):
        return 1, ("clock", 720)
    if word == "midnight":
        return 1, ("clock", 0)
    # month day[, year] / day month [year]
    if word in _MONTHS and i + 1 < len(words):
        day = _parse_digits(words[i + 1])
        if day is not None and 1 <= day <= 31 and day == int(day):
            return _with_year(words, i + 2, 2, _MONTHS[word] * 100 + int(day))
    # currency sign before a number
    if word in _CURRENCY_SIGNS and i + 1 < len(words):
        amount = _parse_digits(words[i + 1])
        if amount is not None:
            scale, extra = _scale(words, i + 2)
            return 2 + extra, (_CURRENCY_SIGNS[word], amount * scale)
    value: float | None = _parse_digits(word) if word[0].isdigit() else None
    consumed = 1
    if value is None:
        if word in ("a", "an") and i + 1 < len(words):
            nxt = words[i + 1]
            if nxt in _UNITS and _UNITS[nxt][0] not in ("ratio",):
                if words[i + 2 : i + 3] != ["and"]:
                    return 2, None  # "a day", "once a month": an article, not a stated fact
                value, consumed = 1.0, 1
            elif nxt in ("half", "quarter", "third", "dozen") and (
                words[i + 2 : i + 3] == ["of"] or _unit_after(words, i + 2) or nxt == "dozen"
            ):
                return _at(words, i + 1)[0] + 1, _at(words, i + 1)[1]
            else:
                return 1, None
        elif word in ("half", "quarter") and (
            words[i + 1 : i + 2] in (["a"], ["an"], ["of"]) or _unit_after(words, i + 1)
        ):
            value, consumed = _FRACTIONS[word], 1
            if words[i + 1 : i + 2] in (["a"], ["an"]) and _unit_after(words, i + 2):
                consumed = 2  # "half a gigabyte"
            elif words[i + 1 : i + 3] in (["of", "a"], ["of", "an"]) and _unit_after(words, i + 3):
                consumed = 3  # "a quarter of an hour"
        elif "-" in word and word.split("-")[-1] in _UNITS and word.split("-")[0] in _ONES:
            head = _number_word(word.split("-")[:-1], 0)  # "five-hour", "twelve-month"
            if head is None:
                return 1, None
            dim, factor = _UNITS[word.split("-")[-1]]
            return 1, (dim, head[0] * factor)
        elif "-" in word and word.split("-")[-1] in _FRACTIONS:
            head = _number_word(word.split("-")[:-1], 0)
            if head is None:
                return 1, None
            return 1, ("ratio", head[0] * _FRACTIONS[word.split("-")[-1]])
        else:
            spelled = _number_word(words, i)
            if spelled is None:
                return 1, None
            value, consumed = spelled
    j = i + consumed
    # day month [year]
    if value == int(value) and 1 <= value <= 31 and j < len(words):
        month_at = j + 1 if words[j] == "of" else j
        month = words[month_at] if month_at < len(words) else ""
        modal = month == "may" and month_at == j and not re.search(r"(st|nd|rd|th)$", word)
        if month in _MONTHS and not modal:  # "17th of May", not "2 may apply"
            return _with_year(
                words, month_at + 1, month_at + 1 - i, _MONTHS[words[month_at]] * 100 + int(value)
            )
    # fractions: "two-fifths", "2/5", "one in five", "4 out of 100", "one part in ten thousand"
    if j < len(words) and words[j] in _FRACTIONS and words[j] not in ("half",):
        fraction = value * _FRACTIONS[words[j]]
        if words[j + 1 : j + 3] in (["of", "a"], ["of", "an"]):  # "three quarters of an hour"
            unit = _unit_after(words, j + 3)
            if unit is not None:
                return j + 3 + unit[2] - i, (unit[0], fraction * unit[1])
        return consumed + 1, ("ratio", fraction)
    if j + 1 < len(words) and words[j] == "/":
        denominator = _parse_digits(words[j + 1]) if words[j + 1][0].isdigit() else None
        if denominator:
            return consumed + 2, ("ratio", value / denominator)
    k = j
    if k < len(words) and words[k] in (
        "part",
        "parts",
        "person",
        "people",
        "dog",
        "dogs",
        "patient",
        "patients",
        "customer",
        "customers",
        "user",
        "users",
    ):
        k += 1
    if k + 1 < len(words) and (words[k] == "in" or words[k : k + 2] == ["out", "of"]):
        k += 2 if words[k] == "out" else 1
        if k < len(words) and words[k] == "every":
            k += 1
        if k < len(words):
            denominator_found = _parse_digits(words[k]) if words[k][0].isdigit() else None
            if denominator_found is not None:
                return k + 1 - i, ("ratio", value / denominator_found if denominator_found else 0.0)
            spelled = _number_word(words, k)
            if spelled is not None and spelled[0]:
                return k + spelled[1] - i, ("ratio", value / spelled[0])
    scale, extra = _scale(words, j)
    value *= scale
    j += extra
    # "X and a half hours", "an hour and a half"
    half = 0.0
    if words[j : j + 3] in (["and", "a", "half"], ["and", "a", "quarter"]) and words[
        j + 3 : j + 4
    ] != ["of"]:
        half = _FRACTIONS[words[j + 2]]
        j += 3
    if j < len(words) and words[j] in ("am", "pm") and value <= 12:
        hour = value % 12 + (12 if words[j] == "pm" else 0)
        return j + 1 - i, ("clock", hour * 60)
    if j < len(words) and words[j].startswith("°"):
        celsius = value if words[j][-1] == "c" else (value - 32) * 5 / 9
        return j + 1 - i, ("temperature", round(celsius, 1))
    unit = _unit_after(words, j)
    if unit is None and word[0].isdigit():
        unit = _chained_unit(words, j)
        if unit is not None:
            return j - i, (unit[0], value * unit[1])  # "10 to 15 minutes", "40 x 30 x 15 cm"
    if unit is not None:
        dim, factor, used = unit
        j += used
        if words[j : j + 3] in (["and", "a", "half"], ["and", "a", "quarter"]) and words[
            j + 3 : j + 4
        ] != ["of"]:
            half = _FRACTIONS[words[j + 2]]
            j += 3
        return j - i, (dim, (value + half) * factor)
    if half:
        return j - i, ("count", value + half)
    if value == int(value) and 1800 <= value <= 2100 and word[0].isdigit():
        return consumed, ("year", value)
    if value == 1 and not word[0].isdigit():
        return consumed, None  # "one", "single", "once": not a stated fact on their own
    return consumed, ("count", value)


def _chained_unit(words: list[str], j: int) -> tuple[str, float, int] | None:
    """The unit at the end of a range or a list of dimensions that starts before ``j``."""
    while j + 1 < len(words) and words[j] in _CHAIN and words[j + 1][0].isdigit():
        j += 2
        unit = _unit_after(words, j)
        if unit is not None:
            return unit
    return None


def _scale(words: list[str], j: int) -> tuple[float, int]:
    if j < len(words) and words[j] in _SCALES:
        return _SCALES[words[j]], 1
    if j < len(words) and words[j] in ("k", "m", "bn"):
        return {"k": 1e3, "m": 1e6, "bn": 1e9}[words[j]], 1
    return 1.0, 0


def _with_year(
    words: list[str], j: int, consumed: int, month_day: int
) -> tuple[int, tuple[str, float]]:
    if j < len(words) and re.fullmatch(r"\d{4}", words[j]):
        return consumed + 1, ("date", int(words[j]) * 10000 + month_day)
    return consumed, ("date", month_day)


_RELATIVE: Final = 0.011  # exact restatements are within rounding
_HEDGED: Final = 0.06  # "about 230 minutes" may round


_DIGITS = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\d,])")


class NumberPool:
    """The quantities of the sources, for checking the quantities of claims."""

    def __init__(self, sources: Iterable[str]) -> None:
        self.by_dim: dict[str, list[float]] = {}
        raw: set[float] = set()
        #: the quantities parsed from the texts, in order (for alignment by position)
        self.found: list[Quantity] = []
        for source in sources:
            parsed = quantities(source)
            self.found.extend(parsed)
            for q in parsed:
                self._add(q)
            raw.update(float(n.replace(",", "")) for n in _DIGITS.findall(source))
        self.by_dim.setdefault("count", []).extend(sorted(raw))
        self.all_values = sorted({v for values in self.by_dim.values() for v in values})

    @classmethod
    def merge(cls, pools: Iterable[NumberPool]) -> NumberPool:
        """One pool holding the quantities of all ``pools``."""
        merged = cls(())
        for pool in pools:
            for dim, values in pool.by_dim.items():
                merged.by_dim.setdefault(dim, []).extend(values)
        merged.all_values = sorted({v for values in merged.by_dim.values() for v in values})
        return merged

    def extended(self, extra: Iterable[Quantity]) -> NumberPool:
        """A copy that also holds ``extra`` (for arithmetic over a claim's own figures)."""
        pool = NumberPool(())
        pool.by_dim = {dim: list(values) for dim, values in self.by_dim.items()}
        for q in extra:
            pool._add(q)
        pool.all_values = sorted({v for values in pool.by_dim.values() for v in values})
        return pool

    def _add(self, q: Quantity) -> None:
        if q.dim == "date":
            whole = int(q.value)
            self.by_dim.setdefault("date", []).append(float(whole % 10000))
            if whole >= 10000:
                self.by_dim.setdefault("year", []).append(float(whole // 10000))
                self.by_dim.setdefault("fulldate", []).append(float(whole))
            return
        self.by_dim.setdefault(q.dim, []).append(q.value)

    def supports(self, q: Quantity, *, arithmetic: bool = True) -> bool:
        """Whether ``q`` is among the quantities (within rounding; hedged ones within 6%),
        or, with ``arithmetic``, one step from two of them."""
        tolerance = _HEDGED if q.approx else _RELATIVE
        if q.dim == "date":
            whole = int(q.value)
            if whole >= 10000 and whole in {int(v) for v in self.by_dim.get("fulldate", ())}:
                return True
            if whole >= 10000 and whole // 10000 not in {
                int(v) for v in self.by_dim.get("year", ())
            }:
                return False
            return any(int(v) == whole % 10000 for v in self.by_dim.get("date", ()))
        if q.dim == "year":
            pool = self.by_dim.get("year", []) + self.by_dim.get("count", [])
            return any(v == q.value for v in pool)
        if q.dim in ("count",):
            pool = self.all_values
        else:
            pool = self.by_dim.get(q.dim, [])
            if q.dim == "ratio":
                pool = pool + [v / 100 for v in self.by_dim.get("count", [])]
        if any(_close(q.value, v, tolerance) for v in pool):
            return True
        if q.dim in ("count", "ratio") and q.value in (0.5, 1.0, 2.0):
            return True  # "half", "one", "twice": too common to call a fact
        if not arithmetic:
            return False
        return any(_close(q.value, v, 1e-6) for v in self._derived_in(q.dim))

    def derives(self, q: Quantity) -> bool:
        """Whether ``q`` is one arithmetic step from the pool's figures (not one of them)."""
        return any(_close(q.value, v, 1e-6) for v in self._derived_in(q.dim))

    def _derived_in(self, dim: str) -> list[float]:
        """Values one step from the pool's figures of ``dim``: sums and differences of two (or
        the sum of three) different figures, a figure times or divided by a count, the length
        of a window between two clock times."""
        values = self.by_dim.get(dim, [])
        pairs = [(a, b) for i, a in enumerate(values) for b in values[i + 1 :]]
        out = [a + b for a, b in pairs] + [abs(a - b) for a, b in pairs]
        if len(values) < 13:
            out += [
                a + b + c
                for i, a in enumerate(values)
                for j, b in enumerate(values[i + 1 :], start=i + 1)
                for c in values[j + 1 :]
            ]
        if dim == "time":
            clocks = self.by_dim.get("clock", [])
            out += [((b - a) % 1440) * 60 for a in clocks for b in clocks if a != b]
        counts = self.by_dim.get("count", [])
        out += [a * c for a in values for c in counts if c != 1]
        out += [a * r for a in values for r in self.by_dim.get("ratio", ())]  # "two-thirds of"
        out += [a / c for a in values for c in counts if c not in (0, 1)]
        return out


def _close(a: float, b: float, tolerance: float) -> bool:
    if a == b:
        return True
    return abs(a - b) <= tolerance * max(abs(a), abs(b))

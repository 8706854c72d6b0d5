"""PII recognizers as data: pattern, score, context words, a validate hook and a trigger.

Patterns and checksum validators come from presidio-analyzer's predefined recognizers (the
reference implementation); this module only decides *when* to run them. Every recognizer has a
cheap ``trigger`` (a literal-led regex searched once); the expensive pattern runs only when the
trigger hits, which is what keeps a clean 1 KB prompt well under a millisecond. Two recognizers
differ from presidio on purpose, both for speed:

* URLs without a scheme use a TLD-anchored pattern (presidio's scans every position, ~0.5 ms/KB);
* phone numbers run ``phonenumbers`` only on digit runs that could be a number, per region.

tldextract (used to validate e-mail domains) is pointed at its bundled suffix-list snapshot, so
nothing is downloaded at run time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import regex

from tracerail.guardrails.types import Finding

CONTEXT_BOOST = 0.35
MIN_SCORE_WITH_CONTEXT = 0.4
CONTEXT_BEFORE = 64
CONTEXT_AFTER = 24
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN")

Validator = Callable[[str], bool | None]


@dataclass(frozen=True)
class PatternSpec:
    """One regex recognizer. ``validate`` True → score 1.0, False → dropped."""

    entity: str
    pattern: str
    score: float
    trigger: str
    context: tuple[str, ...] = ()
    validate: Validator | None = None
    flags: int = 0
    requires_context: bool = False
    context_before: int = CONTEXT_BEFORE
    context_after: int = CONTEXT_AFTER
    #: The pattern never matches whitespace: run it only on the whitespace-delimited tokens
    #: around trigger hits (same matches, since whitespace is a boundary either way; an e-mail
    #: address in 10 KB of prose then costs one token, not a scan of the whole text).
    token_scoped: bool = False
    compiled: Any = field(init=False, repr=False, compare=False)
    compiled_trigger: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", regex.compile(self.pattern, self.flags))
        object.__setattr__(self, "compiled_trigger", regex.compile(self.trigger, self.flags))

    def _matches(self, text: str) -> Iterable[Any]:
        if not self.token_scoped:
            yield from self.compiled.finditer(text)
            return
        done = -1
        for hit in self.compiled_trigger.finditer(text):
            if hit.start() < done:
                continue
            start = max(_last_space_before(text, hit.start()), done)
            end = _first_space_after(text, hit.end())
            yield from self.compiled.finditer(text, start, end)
            done = end

    def find(self, text: str) -> Iterable[Finding]:
        for match in self._matches(text):
            start, end = match.span()
            if start == end:
                continue
            score = self.score
            if self.validate is not None:
                valid = self.validate(match.group())
                if valid is False:
                    continue
                if valid:
                    score = 1.0
            if self.context and score < 1.0:
                if has_context(
                    text, start, end, self.context, self.context_before, self.context_after
                ):
                    score = max(min(score + CONTEXT_BOOST, 1.0), MIN_SCORE_WITH_CONTEXT)
                elif self.requires_context:
                    continue
            yield Finding(self.entity, start, end, score)


_SPACE_AFTER = regex.compile(r"\s")


def _last_space_before(text: str, index: int) -> int:
    """Start of the whitespace-delimited token holding ``index``."""
    return max(text.rfind(ch, 0, index) for ch in " \n\t\r\f\v") + 1


def _first_space_after(text: str, index: int) -> int:
    found = _SPACE_AFTER.search(text, index)
    return len(text) if found is None else found.start()


def has_context(
    text: str,
    start: int,
    end: int,
    words: Sequence[str],
    before: int = CONTEXT_BEFORE,
    after: int = CONTEXT_AFTER,
) -> bool:
    """Whether one of ``words`` occurs (as a word prefix) shortly before or after a match."""
    window = text[max(0, start - before) : start] + " " + text[end : end + after]
    return _context_regex(tuple(words)).search(window) is not None


@cache
def _context_regex(words: tuple[str, ...]) -> Any:
    return regex.compile(r"(?i)\b(?:" + "|".join(regex.escape(w) for w in words) + r")")


# --- validators (presidio's, loaded once) -------------------------------------------------------
_lock = threading.Lock()


@cache
def _presidio() -> dict[str, Any]:
    """presidio's predefined recognizers, instantiated once for their validate hooks."""
    with _lock:
        offline_tldextract()
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            CryptoRecognizer,
            DateRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
            UsSsnRecognizer,
        )

        return {
            "email": EmailRecognizer(),
            "card": CreditCardRecognizer(),
            "iban": IbanRecognizer(),
            "ssn": UsSsnRecognizer(),
            "ip": IpRecognizer(),
            "crypto": CryptoRecognizer(),
            "date": DateRecognizer(),
        }


_OFFLINE: Any = None


def offline_tldextract() -> Any:
    """A tldextract extractor that uses only its bundled snapshot, installed as the default.

    presidio's e-mail validator calls ``tldextract.extract``, which would otherwise try to
    download the public suffix list on first use.
    """
    global _OFFLINE
    if _OFFLINE is None:
        import tldextract
        import tldextract.tldextract as tld_module

        _OFFLINE = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        tld_module.TLD_EXTRACTOR = _OFFLINE
    return _OFFLINE


def _email_valid(value: str) -> bool:
    return bool(offline_tldextract()(value.rsplit("@", 1)[-1]).suffix)


def _url_valid(value: str) -> bool:
    host = regex.sub(r"(?i)^[a-z][a-z0-9+.-]*://", "", value).split("/", 1)[0]
    return bool(offline_tldextract()(host).suffix)


def _ssn_or_none(value: str) -> bool | None:
    return None if _ssn_valid(value) else False


def _invalid_to_validator(name: str) -> Validator:
    def validate(value: str) -> bool | None:
        return False if _presidio()[name].invalidate_result(value) else None

    return validate


def _validator(name: str) -> Validator:
    def validate(value: str) -> bool | None:
        result: bool | None = _presidio()[name].validate_result(value)
        return result

    return validate


_TLDS = (
    "com|org|net|edu|gov|mil|int|io|ai|co|us|uk|de|fr|es|it|nl|be|ch|at|se|no|dk|fi|pl|cz|ru|"
    "cn|jp|kr|in|au|nz|ca|br|mx|ar|za|eu|info|biz|dev|app|cloud|xyz|me|tv|ly|gg|so|sh|tech|"
    "online|site|store|shop|blog|news"
)


def _pattern(name: str, pattern_name: str) -> str:
    """The regex of presidio's pattern called ``pattern_name`` (by name, never by position)."""
    for pattern in _presidio()[name].patterns:
        if pattern.name == pattern_name:
            return str(pattern.regex)
    raise LookupError(f"presidio's {name} recognizer has no pattern {pattern_name!r}")


def _ssn_valid(value: str) -> bool:
    """Area 001-665 or 667-899, group 01-99, serial 0001-9999, one separator style."""
    separators = set(regex.findall(r"[- .]", value))
    if len(separators) > 1:
        return False
    digits = regex.sub(r"[- .]", "", value)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area >= "900" or group == "00" or serial == "0000":
        return False
    return not _presidio()["ssn"].invalidate_result(value)


_VERSION_BEFORE = regex.compile(
    r"(?i)(?:\b(?:v|ver|version|versions|release|rel|build|upgrade|upgraded|update|updated|"
    r"deploy|deployed|kernel|firmware|driver|tag|agent|app|sdk|package|pkg|running|"
    r"min_version|max_version)\b(?:\s+to)?|版本|[/@]v?|\d\.)[\s:=\"']{0,4}$"
)
_VERSION_AFTER = regex.compile(r"^(?:\.\d|-(?:alpha|beta|rc|dev|snapshot)|\+\w)")


def ip_in_version_context(text: str, start: int, end: int) -> bool:
    """A dotted quad that reads as a version: after v/version/build..., or more groups follow."""
    return bool(
        _VERSION_BEFORE.search(text[max(0, start - 24) : start])
        or _VERSION_AFTER.match(text[end : end + 12])
    )


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_resident_id_valid(value: str) -> bool:
    """ISO 7064 MOD 11-2 check character and a plausible birth date (18-digit IDs)."""
    value = value.upper()
    if len(value) != 18 or not value[:17].isdigit():
        return False
    year, month, day = int(value[6:10]), int(value[10:12]), int(value[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17]


def _cn_id_validate(value: str) -> bool:
    return cn_resident_id_valid(value)


def _date_patterns() -> list[str]:
    return [p.regex for p in _presidio()["date"].patterns]


@cache
def builtin_specs() -> tuple[PatternSpec, ...]:
    """The regex-tier recognizers, built on first use."""
    p = _presidio()
    dob_words = ("born", "birth", "dob", "d.o.b", "birthday", "birthdate")
    specs = [
        PatternSpec(
            "EMAIL_ADDRESS",
            _pattern("email", "Email (Medium)"),
            0.5,
            r"@",
            p["email"].context,
            _email_valid,
            token_scoped=True,
        ),
        PatternSpec(
            "CREDIT_CARD",
            _pattern("card", "All Credit Cards (weak)"),
            0.3,
            r"\d{4}",
            tuple(p["card"].context),
            _validator("card"),
        ),
        PatternSpec(
            "IBAN_CODE",
            _pattern("iban", "IBAN Generic"),
            0.5,
            r"[A-Z]{2}\d{2}",
            tuple(p["iban"].context),
            _validator("iban"),
            regex.MULTILINE,
        ),
        PatternSpec(
            "US_SSN",
            r"\b([0-9]{3})[- .]([0-9]{2})[- .]([0-9]{4})\b",
            0.5,
            r"\d{3}[- .]\d{2}[- .]\d{4}",
            tuple(p["ssn"].context),
            _ssn_or_none,
        ),
        PatternSpec(
            "US_SSN",
            r"\b[0-9]{9}\b",
            0.05,
            r"\d{9}",
            tuple(p["ssn"].context),
            _ssn_or_none,
            requires_context=True,
        ),
        PatternSpec(
            "IP_ADDRESS",
            _pattern("ip", "IPv4"),
            0.6,
            r"\d\.\d{1,3}\.\d",
            tuple(p["ip"].context),
            _invalid_to_validator("ip"),
        ),
        PatternSpec(
            "IP_ADDRESS",
            _pattern("ip", "IPv6"),
            0.6,
            r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:",
            tuple(p["ip"].context),
            _invalid_to_validator("ip"),
        ),
        PatternSpec(
            "URL",
            r"(?i)\b(?:https?|ftp)://[^\s<>\"'`)\]]+[^\s<>\"'`)\].,;:!?]",
            0.6,
            r"(?i)(?:https?|ftp)://",
            token_scoped=True,
        ),
        PatternSpec(
            "URL",
            r"(?i)(?<![\w@./-])www\d{0,3}\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[^\s<>\"'`)\]]*[^\s<>\"'`)\].,;:!?])?",
            0.6,
            r"(?i)www\d{0,3}\.",
            token_scoped=True,
        ),
        PatternSpec(
            "URL",
            r"(?i)(?<![\w@./:-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:"
            + _TLDS
            + r")\b(?!\.\w|@)(?:/[^\s<>\"'`)\]]*[^\s<>\"'`)\].,;:!?])?",
            0.5,
            r"(?i)\.(?:" + _TLDS + r")\b",
            ("url", "website", "link", "site"),
            _url_valid,
            token_scoped=True,
        ),
        PatternSpec(
            "CRYPTO",
            _pattern("crypto", "Crypto (Medium)"),
            0.5,
            r"\b(?:bc1|[13])[a-zA-HJ-NP-Z0-9]{25}",
            tuple(p["crypto"].context),
            _validator("crypto"),
        ),
        PatternSpec(
            "CRYPTO",
            r"\b0x[a-fA-F0-9]{40}\b",
            0.6,
            r"0x[a-fA-F0-9]{40}",
            ("wallet", "eth", "ethereum", "address", "crypto"),
        ),
    ]
    specs.append(
        PatternSpec(
            "CREDIT_CARD",
            r"(?<![\d-])(?:2[2-7]\d{2}|62\d{2})(?:[ -]?\d{4}){3}(?:[ -]?\d{3})?(?![\d-])",
            0.3,
            r"(?:2[2-7]|62)\d{2}[ -]?\d{4}",
            (*p["card"].context, "银行卡", "卡号", "unionpay"),
            _validator("card"),
        )
    )
    specs.append(
        PatternSpec(
            "CN_RESIDENT_ID",
            r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
            r"\d{3}[0-9Xx](?![0-9A-Za-z])",
            0.5,
            r"\d{17}[0-9Xx]",
            ("身份证", "证件", "id card", "resident", "identity"),
            _cn_id_validate,
        )
    )
    specs.append(
        PatternSpec(
            "PHONE_NUMBER",
            r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![0-9A-Za-z])",
            0.6,
            r"1[3-9]\d[ -]?\d{4}[ -]?\d{4}",
            ("手机", "电话", "联系", "mobile", "phone", "tel", "call"),
        )
    )
    for date_regex in _date_patterns():
        specs.append(
            PatternSpec(
                "DATE_OF_BIRTH",
                date_regex,
                0.6,
                r"(?i)\b(?:born|birth|dob|d\.o\.b|birthday|birthdate)",
                dob_words,
                flags=regex.IGNORECASE,
                requires_context=True,
                context_before=32,
                context_after=0,
            )
        )
    return tuple(specs)


# --- phone numbers --------------------------------------------------------------------------
_SSN_SHAPE = regex.compile(r"^\d{3}-\d{2}-\d{4}$")
_PHONE_TRIGGER = regex.compile(r"\d[\d\s().\-/]{5,}\d")
_PHONE_CANDIDATE = regex.compile(
    r"(?<![\w+@/.#-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d[\d\s.\-/]{4,18}\d(?![\w@])"
)


_NOT_PHONE_BEFORE = regex.compile(
    r"(?i)(?:\b(?:sku|p/n|pn|part|item|ean|upc|gtin|isbn|issn|order|orders|ord|invoice|inv|po|"
    r"tracking|track|shipment|parcel|batch|lot|ref|reference|serial|s/n|sn|mpn|model|build|"
    r"version|ver|v|id|code|no|nr|account|acct|ticket|case|txn|transaction|block|height)"
    r"|流水号?|批次号?|单号|编号|编码|订单号?|发票号?|#)[\s.:#=\"'-]{0,4}$"
)
_GROUP_SPLIT = regex.compile(r"[\s.\-/()]+")


def _national_regions(chunk: str, regions: Sequence[str]) -> tuple[str, ...]:
    """The regions whose national format the digit grouping of ``chunk`` (no ``+``) fits:
    US 3-3-4 (or 10 straight, or 1-3-3-4); a trunk ``0`` with spaces or dashes (GB, DE, FR, IN
    landlines); an Indian mobile (10 digits from 6-9, 5-5). Dates, product codes and batch
    numbers are grouped otherwise (2/2/4, 4-2-2...) and fit none.
    """
    if "/" in chunk:
        return ()
    groups = [g for g in _GROUP_SPLIT.split(chunk) if g]
    sizes = [len(g) for g in groups]
    joined = "".join(groups)
    fits: list[str] = []
    if joined.startswith("0"):
        if len(groups) <= 5 and 10 <= len(joined) <= 12 and "." not in chunk:
            fits += [r for r in regions if r != "US"]
    elif sizes in ([10], [3, 3, 4]) or (sizes == [1, 3, 3, 4] and joined[0] == "1"):
        fits.append("US")
    if joined[0] in "6789" and sizes in ([10], [5, 5]):
        fits.append("IN")
    return tuple(r for r in fits if r in regions)


def find_phones(
    text: str, regions: Sequence[str], taken: Sequence[Finding] = (), original: str | None = None
) -> list[Finding]:
    """Phone numbers valid in one of ``regions``, checked only on plausible digit runs.

    Runs that overlap a validated finding of another recognizer (``taken``: cards, IBANs,
    dates...) are skipped; a run starting with ``+`` is parsed once, whatever the regions.
    Runs after a label such as ``SKU``, ``order`` or ``ISBN``, and runs without ``+`` that are
    not grouped like a national number, are not phone numbers. ``original``: the unmasked
    text (labels such as ``订单号`` are looked for there; see :func:`mask_cjk`).
    """
    labels = text if original is None else original
    if _PHONE_TRIGGER.search(text) is None:
        return []
    import phonenumbers

    found: list[Finding] = []
    for candidate in _PHONE_CANDIDATE.finditer(text):
        start, end = candidate.span()
        if any(f.start < end and start < f.end for f in taken):
            continue
        chunk = candidate.group()
        if _SSN_SHAPE.match(chunk):
            continue
        if _NOT_PHONE_BEFORE.search(labels[max(0, start - 16) : start]):
            continue
        if text[end : end + 1] == ":":  # a time: 2024-03-05 14:22
            continue
        national = () if chunk.startswith("+") else _national_regions(chunk, regions)
        if not chunk.startswith("+") and not national:
            continue
        digits = sum(ch.isdigit() for ch in chunk)
        # National numbers (no +) have at least 9 digits in the default regions; shorter runs
        # are mostly build numbers, batch ids and the like.
        if not (7 if chunk.startswith("+") else 9) <= digits <= 15:
            continue
        for region in regions[:1] if chunk.startswith("+") else national:
            try:
                number = phonenumbers.parse(chunk, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                found.append(Finding("PHONE_NUMBER", start, end, 0.75))
                break
    return found


#: Stands in for a Han character: not a word character, not a space, in no pattern's class.
CJK_MASK = "\u00a6"
_CJK_OR_WIDE = regex.compile(
    r"[\p{Han}\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
)


def mask_cjk(text: str) -> str:
    """``text`` with Han characters and CJK punctuation turned into spaces (same offsets).

    The patterns use ``\\b`` and ``\\w`` boundaries, and Han characters are word characters:
    ``手机号13812345678`` has no boundary before the digits. Written without spaces, Chinese
    text needs this before the patterns run.
    """
    if text.isascii():
        return text
    return str(_CJK_OR_WIDE.sub(CJK_MASK, text))


_MORE_DIGITS_AFTER = regex.compile(r"^[ .-]?\d")
_MORE_DIGITS_BEFORE = regex.compile(r"(?:\d[ .-]?|[A-Z]{2}\d{2}[ -]?)$")


def _reads_as_something_else(text: str, f: Finding) -> bool:
    if f.type == "IP_ADDRESS":
        return "." in text[f.start : f.end] and ip_in_version_context(text, f.start, f.end)
    if f.type in ("US_SSN", "CREDIT_CARD"):
        # a piece of a longer number: a dotted version, an IBAN, a 19-digit card that failed
        return bool(
            _MORE_DIGITS_AFTER.match(text[f.end : f.end + 2])
            or _MORE_DIGITS_BEFORE.search(text[max(0, f.start - 5) : f.start])
        )
    return False


def drop_lookalikes(text: str, findings: Iterable[Finding]) -> list[Finding]:
    """Remove findings that read as something else: IPv4 addresses that are version strings,
    SSNs and card numbers that are pieces of a longer number."""
    return [f for f in findings if not _reads_as_something_else(text, f)]


def run_specs(text: str, specs: Iterable[PatternSpec]) -> list[Finding]:
    """Findings of every spec whose trigger occurs in ``text``."""
    found: list[Finding] = []
    triggered: dict[str, bool] = {}
    for spec in specs:
        hit = triggered.get(spec.trigger)
        if hit is None:
            hit = triggered[spec.trigger] = spec.compiled_trigger.search(text) is not None
        if hit:
            found.extend(spec.find(text))
    return found


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """Drop findings overlapping a longer (or earlier, equally long) one of the same type."""
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.type, f.start, -(f.end - f.start))):
        last = kept[-1] if kept else None
        if last is not None and last.type == finding.type and finding.start < last.end:
            continue
        kept.append(finding)
    return kept


def custom_spec(entry: dict[str, Any]) -> PatternSpec:
    """A recognizer from a policy file: ``{entity, regex, score?, context?}``."""
    pattern = str(entry["regex"])
    context = tuple(str(w) for w in entry.get("context", ()))
    return PatternSpec(
        str(entry["entity"]),
        pattern,
        float(entry.get("score", 0.8)),
        pattern,
        context,
        requires_context=bool(entry.get("requires_context", False)),
    )


def deny_list_spec(values: Sequence[str], entity: str = "DENY_LIST") -> PatternSpec:
    """Whole-word, case-insensitive matches of fixed values."""
    body = "|".join(regex.escape(v) for v in sorted(values, key=len, reverse=True))
    pattern = r"(?i)(?<!\w)(?:" + body + r")(?!\w)"
    return PatternSpec(entity, pattern, 1.0, pattern)

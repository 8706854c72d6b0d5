"""Generate ``pii_eval.jsonl``: labelled texts for the PII regex tier (deterministic, seed 7).

Run ``python tests/data/make_pii_eval.py`` to rebuild. Each line is
``{"text": ..., "entities": [{"type", "start", "end"}]}``. Values are synthetic: card numbers
pass Luhn, IBANs and wallet addresses carry valid checksums, phone numbers are valid in their
numbering plan. Negatives look like PII but are not (order numbers, versions, timestamps...).
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

from b58 import b58encode, checksum  # tests/data/b58.py, beside this script

OUT = Path(__file__).with_name("pii_eval.jsonl")
rng = random.Random(7)

FIRST = ["anna", "li.wei", "j.smith", "maria-jose", "o'brien", "dev+alerts", "Tom.Baker", "x_y"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.co.uk", "uni.example.edu", "acme.io"]


def email() -> str:
    return f"{rng.choice(FIRST)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"


PHONES = [
    ("+1 {a} {b} {c}", "US"),
    ("({a}) {b}-{c}", "US"),
    ("{a}-{b}-{c}", "US"),
    ("{a}.{b}.{c}", "US"),
    ("+1-{a}-{b}-{c}", "US"),
    ("+44 20 7946 {d}", "GB"),
    ("+49 30 {e}", "DE"),
    ("+33 1 42 68 {f} {g}", "FR"),
    ("+91 98{h} {i}", "IN"),
]
US_AREAS = ["212", "312", "415", "617", "646", "202", "303", "512", "206", "718"]


def phone() -> str:
    import phonenumbers

    while True:
        fmt, region = rng.choice(PHONES)
        value = fmt.format(
            a=rng.choice(US_AREAS),
            b=f"{rng.randint(201, 989)}",
            c=f"{rng.randint(0, 9999):04d}",
            d=f"{rng.randint(0, 9999):04d}",
            e=f"{rng.randint(1000000, 9999999)}",
            f=f"{rng.randint(10, 99)}",
            g=f"{rng.randint(10, 99)}",
            h=f"{rng.randint(100, 999)}",
            i=f"{rng.randint(10000, 99999)}",
        )
        if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
            return value


def luhn_complete(prefix: str, length: int) -> str:
    digits = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return digits + str((10 - total % 10) % 10)


def card() -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("6011", 16), ("37", 15)])
    number = luhn_complete(prefix, length)
    if length == 16:
        sep = rng.choice(["", " ", "-"])
        return sep.join(number[i : i + 4] for i in range(0, 16, 4))
    return number


IBAN_SHAPES = {"DE": 18, "GB": None, "FR": 23, "NL": None, "ES": 20}


def iban() -> str:
    country = rng.choice(list(IBAN_SHAPES))
    if country == "GB":
        bban = "NWBK" + "".join(rng.choice(string.digits) for _ in range(14))
    elif country == "NL":
        bban = "ABNA" + "".join(rng.choice(string.digits) for _ in range(10))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(IBAN_SHAPES[country] or 0))
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    check = 98 - int(numeric) % 97
    value = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def ssn() -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    sep = rng.choice(["-", "-", " ", "."])
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def ip() -> str:
    if rng.random() < 0.7:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    groups = [f"{rng.randint(0, 65535):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return "2001:db8::" + groups[0]
    return ":".join(groups)


def url() -> str:
    host = rng.choice(
        ["example.com", "docs.example.org", "shop.example.net", "acme.io", "news.example.co.uk"]
    )
    path = rng.choice(["", "/", "/account/settings", "/a/b?id=42&x=y", "/reset#token"])
    scheme = rng.choice(["https://", "http://", "https://www.", "www.", ""])
    if scheme == "" and not path:
        path = "/help"
    return scheme + host + path


def crypto() -> str:
    if rng.random() < 0.35:
        return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))
    version = rng.choice([b"\x00", b"\x05"])
    payload = version + bytes(rng.randrange(256) for _ in range(20))
    return b58encode(payload + checksum(payload))


MAKERS = {
    "EMAIL_ADDRESS": (
        email,
        [
            "Please write to {v} about the refund.",
            "Contact: {v}",
            "cc <{v}> on the thread",
            "My e-mail is {v}, thanks!",
            "{v} asked for an update yesterday.",
        ],
    ),
    "PHONE_NUMBER": (
        phone,
        [
            "Call me on {v} after 5pm.",
            "Phone: {v}",
            "You can reach the office at {v}.",
            "my number is {v}",
            "Text {v} when you arrive.",
        ],
    ),
    "CREDIT_CARD": (
        card,
        [
            "My card {v} was charged twice.",
            "Visa ending... full number {v}",
            "Payment with {v} failed",
            "card number: {v} exp 09/27",
        ],
    ),
    "IBAN_CODE": (
        iban,
        [
            "Please transfer to IBAN {v} by Friday.",
            "Account {v}",
            "Bank details: {v} (Berlin)",
            "send it to {v}",
        ],
    ),
    "US_SSN": (
        ssn,
        ["My SSN is {v}.", "social security number {v}", "SSN: {v}", "ssn {v} for the tax form"],
    ),
    "IP_ADDRESS": (
        ip,
        [
            "The server at {v} is down.",
            "Blocked IP {v} after the scan",
            "ip={v}",
            "Login from {v} at night",
        ],
    ),
    "URL": (
        url,
        ["See {v} for details.", "Open {v} and log in", "Docs: {v}", "I found it on {v} yesterday"],
    ),
    "CRYPTO": (
        crypto,
        [
            "Send the coins to {v} please",
            "wallet: {v}",
            "My bitcoin address is {v}",
            "Pay {v} the remaining balance",
        ],
    ),
}

NEGATIVES = [
    "Order #{n6} shipped on Monday.",
    "Ticket ORD-2024-{n6} is resolved.",
    "Upgrade to version {ver}.",
    "Released v{ver} with bug fixes.",
    "The build finished at 2024-05-{d2}T12:30:00Z.",
    "Meeting at {h}:{m} tomorrow.",
    "Invoice INV-{n6} totals $1,299.99.",
    "ISBN 978-3-16-148410-0 is out of print.",
    "Zip code {n5} is outside the zone.",
    "It grew {pct}% in {year}.",
    "Commit a3f5c9e{n5} fixed the crash.",
    "Use os.path.join and config.yaml here.",
    "Open README.md and main.py first.",
    "Call the function at line {n3}.",
    "Room {n3}, floor {n2}.",
    "Temperature was {n2}.{n1} degrees.",
    "Batch {n4}-{n4} processed {n6} rows.",
    "Score: {n2}/{n3} points.",
    "The ratio is 3.14159 over 2.71828.",
    "Port 8080 and 443 are open on the load balancer.",
    "Tracking id 1Z999AA1{n6}.",
    "Build #{n4}.{n3} passed all {n3} tests.",
    "The fix is in node.js and react.",
    "Flight LH{n4} departs at {h}:{m}.",
    "Product code SKU-{n5}-{n2} is back in stock.",
]


def negative() -> str:
    template = rng.choice(NEGATIVES)
    return template.format(
        n1=rng.randint(0, 9),
        n2=rng.randint(10, 99),
        n3=rng.randint(100, 999),
        n4=rng.randint(1000, 9999),
        n5=rng.randint(10000, 99999),
        n6=rng.randint(100000, 999999),
        ver=f"{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
        d2=f"{rng.randint(1, 28):02d}",
        h=f"{rng.randint(0, 23):02d}",
        m=f"{rng.randint(0, 59):02d}",
        pct=rng.randint(1, 99),
        year=rng.randint(1990, 2030),
    )


def labelled(template: str, value: str, entity: str) -> tuple[str, dict[str, object]]:
    start = template.index("{v}")
    text = template.replace("{v}", value)
    return text, {"type": entity, "start": start, "end": start + len(value)}


def main() -> None:
    rows = []
    for entity, (make, templates) in MAKERS.items():
        for i in range(40):
            text, label = labelled(templates[i % len(templates)], make(), entity)
            entities = [label]
            if i % 4 == 0:  # add a look-alike negative after the entity
                text = text + " " + negative()
            rows.append({"text": text, "entities": entities})
    for _ in range(100):
        rows.append({"text": negative(), "entities": []})
    rng.shuffle(rows)
    with OUT.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} texts to {OUT}")


if __name__ == "__main__":
    main()

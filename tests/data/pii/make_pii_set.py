# ruff: noqa: RUF001, E501  (Chinese punctuation and long template lines are the data)
"""Generate the hard PII set: ``dev.jsonl`` (tune on it) and ``test.jsonl`` (report it).

    .venv/bin/python tests/data/pii/make_pii_set.py

Deterministic (seed 19). Each line is ``{"text", "entities": [{"type", "start", "end"}],
"lookalikes": [{"kind", "start", "end"}], "family", "lang"}``. ``lookalikes`` are planted spans
that look like personal data and are not (invalid checksums, version strings, order, tracking
and invoice numbers, ISBNs, UUIDs, hashes, timestamps, product codes, common words that are
also names or places); any finding overlapping one is a false positive.

Everything here is written for this set: the templates, the name and place lists, the value
generators. Nothing is taken from the recognizers. The split is by template family (a family's
every instance goes to one side, so no near-copy of a test text is in dev) and the person and
place lists are split in halves too, so names the test split uses never occur in dev.

Entity types: EMAIL_ADDRESS, PHONE_NUMBER (Chinese mobiles too), CREDIT_CARD (UnionPay too),
IBAN_CODE, US_SSN, IP_ADDRESS, URL, CRYPTO, CN_RESIDENT_ID, PERSON (the name without its title),
LOCATION (cities, regions, countries, and street addresses as one span).
"""

from __future__ import annotations

import json
import random
import string
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
# tests/data holds b58.py, the Base58Check helper shared with make_pii_eval.py.
sys.path.insert(0, str(HERE.parent))
from b58 import b58encode, checksum  # noqa: E402

rng = random.Random(19)

# --- own lists (split in halves: even index → dev, odd index → test) -------------------------
FIRST_EN = (
    "Olivia Marcus Priya Daniel Hannah Tobias Aisha Gregory Sofia Nathan Chloe Rafael Imogen "
    "Victor Leah Desmond Fatima Oscar Ingrid Malcolm Yusuf Beatrice Carlos Noor Patrick Elena "
    "Kwame Rosalind Dmitri Harriet Jonah Mei Theodore Amara Lucas Vivian Samuel Zara Felix "
    "Gwendolyn Ahmed Clara Ravi Penelope Andrei Louisa Kenji Miriam Graham Talia Hugo Naomi "
    "Bernard Esther Diego Francesca Emeka Lydia Ronan Sienna"
).split()
LAST_EN = (
    "Whitaker Okafor Lindqvist Moreno Castellano Pemberton Nakamura Fitzgerald Kowalski Hargreaves "
    "Delacroix Abernathy Rasmussen Oyelaran Thornbury Vasquez Halloran Brandt Mukherjee Ellison "
    "Sandoval Prescott Hoffmann Achebe Linwood Fairbanks Takahashi Dunmore Petrov Calloway "
    "Gallagher Okonkwo Bergstrom Ramirez Ashworth Lefebvre Kingsley Novak Harrington Chaudhry "
    "Waverly Montgomery Ferreira Blackwood Iwasaki Sorensen Mahmoud Underwood Quintero Stanhope"
).split()
CITIES_EN = (
    "Boston|Denver|Seattle|Chicago|Manchester|Edinburgh|Toronto|Vancouver|Melbourne|Auckland|"
    "Dublin|Lisbon|Madrid|Barcelona|Munich|Hamburg|Lyon|Marseille|Rotterdam|Copenhagen|"
    "Stockholm|Oslo|Helsinki|Warsaw|Prague|Vienna|Zurich|Geneva|Milan|Naples|Athens|Istanbul|"
    "Cairo|Nairobi|Lagos|Johannesburg|Mumbai|Bangalore|Singapore|Jakarta|Manila|Osaka|Seoul|"
    "Sao Paulo|Buenos Aires|Santiago|Lima|Bogota|Mexico City|Montreal|Phoenix|Atlanta|Houston|"
    "San Diego|Philadelphia|Pittsburgh|Minneapolis|Nashville|Sacramento|Baltimore"
).split("|")
COUNTRIES_EN = (
    "Germany|France|Portugal|Canada|Australia|Kenya|Nigeria|Brazil|Argentina|Japan|India|"
    "Ireland|Norway|Poland|Mexico|Egypt|Vietnam|Chile|Spain|Italy"
).split("|")
STREETS_EN = (
    "Maple|Willow|Harbor|Chestnut|Juniper|Lakeview|Brookside|Ashford|Kingsley|Orchard|Summit|"
    "Fairview|Riverside|Hawthorne|Beacon|Magnolia|Sycamore|Linden|Granite|Meadow"
).split("|")
STREET_KINDS = ["Street", "Avenue", "Road", "Lane", "Drive", "Boulevard", "St.", "Ave", "Rd"]
TITLES = ["Dr.", "Mr.", "Ms.", "Mrs.", "Prof."]

SURNAMES_ZH = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN_ZH = (
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 桂英 建华 志强 晓明 海燕 "
    "文博 子涵 雨萱 浩然 一鸣 思远 佳怡 梓轩 欣怡 宇航 俊杰 婉清 嘉豪 雅婷 天佑 若曦"
).split()
PLACES_ZH = (
    "北京 上海 广州 深圳 杭州 南京 成都 重庆 武汉 西安 苏州 天津 长沙 郑州 青岛 厦门 "
    "昆明 大连 宁波 合肥 福州 济南 哈尔滨 沈阳 长春 南宁 贵阳 兰州 乌鲁木齐 拉萨 "
    "广东省 浙江省 江苏省 四川省 湖北省 山东省 河南省 福建省 云南省 黑龙江省"
).split()
ROADS_ZH = "人民 中山 解放 建设 和平 胜利 长江 黄河 南京 延安 青年 文化 光明 新华 东风".split()
DISTRICTS_ZH = "朝阳区 海淀区 浦东新区 徐汇区 天河区 南山区 西湖区 鼓楼区 武侯区 江汉区".split()


def half(items: list[str], split: str) -> list[str]:
    return items[0::2] if split == "dev" else items[1::2]


# --- value generators ----------------------------------------------------------------------------
def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def digits(n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def masked(mask: str) -> str:
    """A value of the shape ``mask``: ``#`` a digit, ``@`` an upper-case letter or digit,
    ``[abc]`` one of a, b, c; ``\\#`` a literal ``#``; anything else as it stands."""
    out: list[str] = []
    i = 0
    while i < len(mask):
        char = mask[i]
        if char == "#":
            out.append(rng.choice(string.digits))
        elif char == "@":
            out.append(rng.choice(string.ascii_uppercase + string.digits))
        elif char == "[":
            end = mask.index("]", i)
            out.append(rng.choice(mask[i + 1 : end]))
            i = end
        elif char == "\\":
            i += 1
            out.append(mask[i])
        else:
            out.append(char)
        i += 1
    return "".join(out)


def one_of(*masks: str) -> str:
    """Every mask filled in turn (so the random stream does not depend on the pick), then one."""
    return rng.choice([masked(m) for m in masks])


def card(valid: bool = True) -> str:
    prefix, length = rng.choice(
        [("4", 16), ("51", 16), ("53", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16)]
    )
    body = prefix + digits(length - len(prefix) - 1)
    check = luhn_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    number = body + check
    if length == 16:
        return rng.choice(["", " ", "-"]).join(number[i : i + 4] for i in range(0, 16, 4))
    return rng.choice([number, f"{number[:4]} {number[4:10]} {number[10:]}"])


def unionpay(valid: bool = True) -> str:
    length = rng.choice([16, 19])
    body = "62" + rng.choice(["2848", "1700", "2202", "1226", "2588"]) + digits(length - 7)
    check = luhn_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    number = body + check
    if rng.random() < 0.5:
        return number
    return " ".join(number[i : i + 4] for i in range(0, length, 4))


IBAN_SHAPES = {"DE": 18, "GB": 18, "FR": 23, "NL": 14, "ES": 20, "IT": 23, "BE": 12}


def iban(valid: bool = True) -> str:
    country = rng.choice(sorted(IBAN_SHAPES))
    n = IBAN_SHAPES[country]
    if country == "GB":
        bban = rng.choice(["NWBK", "BARC", "LOYD", "MIDL"]) + digits(14)
    elif country == "NL":
        bban = rng.choice(["ABNA", "INGB", "RABO"]) + digits(10)
    elif country == "IT":
        bban = rng.choice(string.ascii_uppercase) + digits(22)
    else:
        bban = digits(n)
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + rng.randint(1, 40)) % 97 + 2
    value = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def ssn(valid: bool = True) -> str:
    area = rng.choice([rng.randint(1, 665), rng.randint(667, 899)])
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    if not valid:
        kind = rng.choice(["area0", "area666", "area9", "group", "serial"])
        area = {"area0": 0, "area666": 666, "area9": rng.randint(900, 999)}.get(kind, area)
        group = 0 if kind == "group" else group
        serial = 0 if kind == "serial" else serial
    sep = "-" if valid or rng.random() < 0.8 else " "
    return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}"


def ipv4() -> str:
    first = rng.choice([8, 23, 34, 52, 66, 91, 104, 151, 172, 185, 192, 203, 212])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6() -> str:
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return "2001:db8:" + ":".join(groups[2:])
    return f"fe80::{groups[4]}:{groups[5]}:{groups[6]}:{groups[7]}"


def url() -> str:
    host = rng.choice(["portal", "files", "status", "my", "share", "docs", "app"])
    dom = rng.choice(["northwind", "bluefin", "quillstack", "ferrohub", "tallgrass", "oakmere"])
    tld = rng.choice(["com", "io", "net", "org", "co.uk", "de"])
    path = rng.choice(["", "/invite/" + digits(6), "/u/" + rng.choice(LAST_EN).lower(), "/reset"])
    scheme = rng.choice(["https://", "https://", "http://", ""])
    if not scheme and rng.random() < 0.5:
        return f"www.{dom}.{tld}{path}"
    return f"{scheme}{host}.{dom}.{tld}{path}"


def btc(valid: bool = True) -> str:
    payload = bytes([rng.choice([0, 5])]) + bytes(rng.randrange(256) for _ in range(20))
    check = checksum(payload)
    if not valid:
        check = bytes((check[0] ^ 0x5A,)) + check[1:]
    return b58encode(payload + check)


def eth() -> str:
    return "0x" + "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(40))


def us_phone() -> str:
    area = rng.choice(["212", "415", "312", "617", "206", "303", "512", "404", "713", "602"])
    ex = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    if ex[1:] == "11" or ex == "555":
        ex = "734"
    line = digits(4)
    # a: area code, e: exchange, l: line number
    layout = rng.choice(["(a) e-l", "a-e-l", "+1 a e l", "a.e.l", "+1-a-e-l"])
    return "".join({"a": area, "e": ex, "l": line}.get(c, c) for c in layout)


def intl_phone() -> str:
    # UK mobile and London, Berlin and German mobile, France, India, Australia.
    return one_of(
        "+44 7[45789]## ######",
        "+44 20 [78]### ####",
        "+49 30 [23456789]#######",
        "+49 15[12] ########",
        "+33 6 ## ## ## ##",
        "+91 9#### #####",
        "+61 4## ### ###",
    )


def cn_mobile() -> str:
    number = "1" + rng.choice("3456789") + rng.choice("0123456789") + digits(8)
    if number[1] == "4":
        number = "147" + digits(8)
    head, middle, tail = number[:3], number[3:7], number[7:]
    separator, prefix = rng.choice([("", ""), (" ", ""), ("-", ""), ("", "+86 "), ("-", "+86-")])
    return prefix + separator.join((head, middle, tail))


ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def cn_id(valid: bool = True) -> str:
    region = rng.choice(["110105", "310104", "440305", "330106", "510107", "420106", "320102"])
    birth = f"{rng.randint(1955, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = region + birth + digits(3)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]
    if not valid:
        check = rng.choice([c for c in "0123456789X" if c != check])
    return body + check


def email(split: str) -> str:
    first, last = rng.choice(half(FIRST_EN, split)), rng.choice(half(LAST_EN, split))
    local = rng.choice(
        [f"{first}.{last}", f"{first[0]}{last}", f"{first}_{rng.randint(1, 99)}", f"{last}+tix"]
    ).lower()
    dom = rng.choice(["northwind.com", "mail.bluefin.io", "quillstack.co.uk", "gmail.com"])
    return f"{local}@{dom}"


def zh_email() -> str:
    return f"{rng.choice(['wang', 'li.na', 'zhangwei', 'chen88'])}{rng.randint(1, 999)}@163.com"


# --- look-alike generators ----------------------------------------------------------------------
def version() -> str:
    return rng.choice(
        [
            f"{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}.{rng.randint(10, 99)}",
            f"{rng.randint(10, 200)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 9999)}",
            f"{rng.randint(1, 5)}.{rng.randint(0, 9)}.{rng.randint(0, 30)}",
        ]
    )


def isbn() -> str:
    body = "978" + str(rng.randint(0, 1)) + digits(8)
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    full = body + str(check)
    return rng.choice([full, f"{full[:3]}-{full[3]}-{full[4:7]}-{full[7:12]}-{full[12]}"])


def timestamp() -> str:
    y, mo, d = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    date, time = f"{y}-{mo:02d}-{d:02d}", f"{h:02d}:{mi:02d}:{s:02d}"
    return rng.choice(
        [
            f"{date} {time}",
            f"{date}T{time}.{masked('###')}Z",
            (date + time).replace("-", "").replace(":", ""),
            masked("17########"),  # Unix seconds
            masked("17###########"),  # Unix milliseconds
            f"{d:02d}/{mo:02d}/{y} {time[:5]}",
        ]
    )


def order_no() -> str:
    return one_of("###-#######-#######", "\\#" + "#" * 9, "ORD-" + "#" * 10, "#" * 12, "SO########")


def tracking() -> str:
    # UPS, USPS, a bare number, SF Express, YunExpress.
    return one_of(
        "1Z" + "@" * 16, "9400 1### #### #### #### ##", "#" * 12, "SF" + "#" * 12, "YT" + "#" * 16
    )


def invoice() -> str:
    return one_of("INV-####-#####", "####-######", "2024########")


def product_code() -> str:
    return one_of(
        "SKU ###-###-####",
        "###-###-####",
        "#### ### ###",
        "P/N ##.###.###.##",
        "EAN " + "#" * 13,
        "MPN #####-#####",
    )


def long_digits() -> str:
    return rng.choice([digits(rng.randint(10, 14)), masked("##### #####"), masked("#### #### ###")])


def hashes() -> str:
    n = rng.choice([32, 40, 64])
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def uuid_() -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


LOOKALIKES: dict[str, Callable[[], str]] = {
    "invalid_card": lambda: card(False),
    "invalid_unionpay": lambda: unionpay(False),
    "invalid_iban": lambda: iban(False),
    "invalid_ssn": lambda: ssn(False),
    "invalid_cn_id": lambda: cn_id(False),
    "invalid_btc": lambda: btc(False),
    "version": version,
    "isbn": isbn,
    "timestamp": timestamp,
    "order": order_no,
    "tracking": tracking,
    "invoice": invoice,
    "product_code": product_code,
    "long_digits": long_digits,
    "hash": hashes,
    "uuid": uuid_,
}

COMMON_WORDS = {
    # capitalised words that are also names or places somewhere; not PII where they stand here
    "dev": ["Reading", "Bath", "Mobile", "Will", "May", "Nice", "Victoria", "Chase", "Florence"],
    "test": [
        "Jordan",
        "Sterling",
        "Paris",
        "Austin",
        "Cologne",
        "Eugene",
        "Sydney",
        "Grant",
        "Hope",
    ],
}


def title_en() -> str:
    return rng.choice(TITLES)


def entity_values(split: str) -> dict[str, Callable[[], str]]:
    return {
        "EMAIL": lambda: email(split),
        "ZHEMAIL": zh_email,
        "PHONE": us_phone,
        "IPHONE": intl_phone,
        "CNMOBILE": cn_mobile,
        "CARD": card,
        "UNIONPAY": unionpay,
        "IBAN": iban,
        "SSN": ssn,
        "IP": ipv4,
        "IP6": ipv6,
        "URL": url,
        "BTC": btc,
        "ETH": eth,
        "CNID": cn_id,
        "FIRST": lambda: rng.choice(half(FIRST_EN, split)),
        "NAME": lambda: f"{rng.choice(half(FIRST_EN, split))} {rng.choice(half(LAST_EN, split))}",
        "LAST": lambda: rng.choice(half(LAST_EN, split)),
        "CITY": lambda: rng.choice(half(CITIES_EN, split)),
        "COUNTRY": lambda: rng.choice(half(COUNTRIES_EN, split)),
        "ADDR": lambda: (
            f"{rng.randint(2, 9800)} {rng.choice(half(STREETS_EN, split))} "
            f"{rng.choice(STREET_KINDS)}"
        ),
        "ZHNAME": lambda: rng.choice(half(SURNAMES_ZH, split)) + rng.choice(half(GIVEN_ZH, split)),
        "ZHPLACE": lambda: rng.choice(half(PLACES_ZH, split)),
        "ZHADDR": lambda: (
            rng.choice(half(PLACES_ZH[:30], split))
            + "市"
            + rng.choice(DISTRICTS_ZH)
            + rng.choice(half(ROADS_ZH, split))
            + rng.choice(["路", "街", "大道"])
            + f"{rng.randint(1, 999)}号"
            + rng.choice(["", f"{rng.randint(1, 30)}栋{rng.randint(101, 2806)}室"])
        ),
    }


TYPES = {
    "EMAIL": "EMAIL_ADDRESS",
    "ZHEMAIL": "EMAIL_ADDRESS",
    "PHONE": "PHONE_NUMBER",
    "IPHONE": "PHONE_NUMBER",
    "CNMOBILE": "PHONE_NUMBER",
    "CARD": "CREDIT_CARD",
    "UNIONPAY": "CREDIT_CARD",
    "IBAN": "IBAN_CODE",
    "SSN": "US_SSN",
    "IP": "IP_ADDRESS",
    "IP6": "IP_ADDRESS",
    "URL": "URL",
    "BTC": "CRYPTO",
    "ETH": "CRYPTO",
    "CNID": "CN_RESIDENT_ID",
    "FIRST": "PERSON",
    "NAME": "PERSON",
    "LAST": "PERSON",
    "ZHNAME": "PERSON",
    "CITY": "LOCATION",
    "COUNTRY": "LOCATION",
    "ADDR": "LOCATION",
    "ZHPLACE": "LOCATION",
    "ZHADDR": "LOCATION",
}

# --- templates: family name → (language, templates). Slots: {TYPE} entity, {~kind} look-alike,
# {TITLE} a title (not part of the entity), {WORD} a capitalised common word (a look-alike).
FAMILIES: dict[str, tuple[str, list[str]]] = {
    "ticket_a": (
        "en",
        [
            "Customer {NAME} ({EMAIL}) reports order {~order} never arrived. Callback: {PHONE}.",
            "Ticket from {TITLE} {NAME}: card {CARD} was charged twice for invoice {~invoice}.",
            "Hi, this is {NAME}. My account email is {EMAIL} and I moved to {ADDR}, {CITY}.",
            "{NAME} cannot log in at {URL}; last seen from {IP}, client {~version}.",
        ],
    ),
    "ticket_b": (
        "en",
        [
            "Caller {NAME} from {CITY} says tracking {~tracking} is stuck; reach them on {PHONE}.",
            "Refund request: {EMAIL}, last four of card {CARD}, order {~order}, build {~version}.",
            "{TITLE} {LAST} asked us to update the billing address to {ADDR}, {CITY}, {COUNTRY}.",
        ],
    ),
    "chat_a": (
        "en",
        [
            "my name is {NAME} and i live in {CITY}, can you help with order {~order}?",
            "hey it's {FIRST} again — text me at {PHONE} when the {~product_code} ships",
            "I'm {NAME}, reach me on {IPHONE}. I'm travelling in {COUNTRY} until Friday.",
        ],
    ),
    "chat_b": (
        "en",
        [
            "Hello! {FIRST} here. My phone is {PHONE} and I'm based in {CITY}.",
            "Can you forward this to {NAME}? She's in {CITY} this week, number {IPHONE}.",
            "thanks {FIRST}! also my ssn is {SSN} if the form needs it",
        ],
    ),
    "log_a": (
        "en",
        [
            "{~timestamp} INFO auth ok user={EMAIL} ip={IP} agent=app/{~version}",
            "{~timestamp} WARN rate limit client {IP} req {~uuid} build {~version}",
            "{~timestamp} ERROR payment failed card={CARD} trace={~hash}",
        ],
    ),
    "log_b": (
        "en",
        [
            "[{~timestamp}] login from {IP6} for {EMAIL} (session {~uuid})",
            'level=info ts={~timestamp} msg="upgraded to {~version}" commit={~hash} host={IP}',
            "ts={~timestamp} order={~order} status=shipped carrier_ref={~tracking}",
        ],
    ),
    "csv_a": (
        "en",
        [
            "name,email,phone,city\n{NAME},{EMAIL},{PHONE},{CITY}",
            "id,sku,qty,ean\n{~order},{~product_code},3,{~long_digits}",
            "customer,iban,invoice\n{NAME},{IBAN},{~invoice}",
        ],
    ),
    "csv_b": (
        "en",
        [
            "full_name;ssn;card\n{NAME};{SSN};{CARD}",
            "uuid,created_at,version\n{~uuid},{~timestamp},{~version}",
            "contact|ip|site\n{NAME}|{IP}|{URL}",
        ],
    ),
    "json_a": (
        "en",
        [
            '{{"user": "{NAME}", "email": "{EMAIL}", "ip": "{IP}", "request_id": "{~uuid}"}}',
            '{{"isbn": "{~isbn}", "sku": "{~product_code}", "updated": "{~timestamp}"}}',
            '{{"payer": "{NAME}", "iban": "{IBAN}", "ref": "{~invoice}"}}',
        ],
    ),
    "json_b": (
        "en",
        [
            '{{"customer": {{"name": "{NAME}", "city": "{CITY}", "phone": "{PHONE}"}}}}',
            '{{"wallet": "{BTC}", "tx_hash": "{~hash}", "block_time": "{~timestamp}"}}',
            '{{"app_version": "{~version}", "device_id": "{~uuid}", "user_ip": "{IP}"}}',
        ],
    ),
    "code_a": (
        "en",
        [
            'ADMIN_EMAIL = "{EMAIL}"  # owner: {NAME}\nMIN_VERSION = "{~version}"',
            'curl -H "X-Request-Id: {~uuid}" {URL}  # from {IP}',
            'test_user = {{"name": "{NAME}", "card": "{CARD}", "ssn": "{SSN}"}}',
            "PAYOUT = '{BTC}'  # {NAME}'s wallet; fallback '{ETH}', docs {URL}",
        ],
    ),
    "code_b": (
        "en",
        [
            "assert parse_order('{~order}') is not None  # reported by {NAME}",
            "ALLOWED_HOSTS = ['{IP}', 'localhost']  # pinned {~version}",
            "send_to = '{ETH}'  # treasury wallet, see {URL}",
        ],
    ),
    "note_a": (
        "en",
        [
            "Met with {NAME} in {CITY}.\nFollow-ups:\n- send contract to {EMAIL}\n- ISBN {~isbn} for the reading list",
            "Patient {NAME}, SSN {SSN}, lives at {ADDR}, {CITY}.\nNext visit {~timestamp}.",
            "Shipping note:\n{NAME}\n{ADDR}\n{CITY}, {COUNTRY}\nPhone {IPHONE}",
        ],
    ),
    "note_b": (
        "en",
        [
            "Call notes ({~timestamp}): {TITLE} {NAME} wants the refund to {IBAN}.",
            "Vendor contact {NAME} <{EMAIL}>\nOffice: {ADDR}, {CITY}\nPO {~invoice}",
            "Release {~version} notes: fixed crash seen by {NAME}; repro on build {~version}.",
        ],
    ),
    "prompt_a": (
        "en",
        [
            "Write a polite reply to {NAME}, who lives in {CITY} and emailed from {EMAIL}.",
            "Summarize this complaint from {TITLE} {LAST} about order {~order} and tracking {~tracking}.",
            "Translate for {FIRST}: the package to {ADDR}, {CITY} will arrive after {~timestamp}.",
        ],
    ),
    "prompt_b": (
        "en",
        [
            "Draft an email to {NAME} ({IPHONE}) confirming the meeting in {CITY}.",
            "Explain why card {CARD} was declined while ISBN {~isbn} ordered fine.",
            "Check whether {URL} is safe; the user {NAME} got it from {EMAIL}.",
        ],
    ),
    "answer_a": (
        "en",
        [
            "Sure! I've updated {NAME}'s phone to {PHONE} and the city to {CITY}.",
            "The order {~order} was placed from IP {IP} with card ending in the number {CARD}.",
            "Done. {FIRST} {LAST} will receive a confirmation at {EMAIL}.",
        ],
    ),
    "answer_b": (
        "en",
        [
            "According to the record, {NAME} was born in {CITY}, {COUNTRY} and holds SSN {SSN}.",
            "Your transfer to {IBAN} (reference {~invoice}) is scheduled for {~timestamp}.",
            "I found two accounts for {NAME}: one in {CITY} and one in {COUNTRY}.",
        ],
    ),
    "sig_a": (
        "en",
        [
            "Thanks for your help!\n\nBest regards,\n{NAME}\n{PHONE}",
            "Cheers,\n{FIRST}\n\nSent from my phone. Ref {~order}",
            "Kind regards,\n{TITLE} {NAME}\nHead of Operations, {CITY} office\n{EMAIL}",
        ],
    ),
    "sig_b": (
        "en",
        [
            "Sincerely,\n{NAME}\n{ADDR}\n{CITY}",
            "-- \n{NAME} | {IPHONE} | {URL}",
            "Warm wishes,\n{FIRST} {LAST}\n(on leave until {~timestamp})",
        ],
    ),
    "neg_a": (
        "en",
        [
            "Upgrade to {~version} fixes the crash; checksum {~hash}, package {~product_code}.",
            "{WORD} the release notes before you deploy {~version} on {~timestamp}.",
            "Order {~order} and invoice {~invoice} refer to SKU {~product_code}.",
            "Card ending {~invalid_card} was rejected (failed checksum). SSN on form: {~invalid_ssn} (invalid).",
        ],
    ),
    "neg_b": (
        "en",
        [
            "Build {~version} shipped at {~timestamp}; artifact {~hash}; run {~uuid}.",
            "The book (ISBN {~isbn}) ships with tracking {~tracking}; EAN {~long_digits}.",
            "{WORD} said the gateway refused {~invalid_iban} and wallet {~invalid_btc}.",
            "Batch {~long_digits} of product {~product_code} was recalled on {~timestamp}.",
        ],
    ),
    "neg_c": (
        "en",
        [
            "Kernel {~version}, firmware {~version}, driver {~version}: all current.",
            "Rejected numbers: {~invalid_card}, {~invalid_ssn}, {~invalid_iban}, {~invalid_btc}.",
            "{WORD} is listed under item {~product_code}, invoice {~invoice}, order {~order}.",
        ],
    ),
    "neg_d": (
        "en",
        [
            "Node {~uuid} reported load at {~timestamp} running {~version}.",
            "Tracking {~tracking} / order {~order} / ISBN {~isbn}.",
            "The {WORD} rollout uses image digest {~hash} and tag {~version}.",
            "Declined card {~invalid_card}; the number {~invalid_ssn} is not a valid SSN.",
        ],
    ),
    "mixed_a": (
        "mix",
        [
            "Customer {NAME} / 客户{ZHNAME}，电话{CNMOBILE}，email {EMAIL}。",
            "Shipment to {ZHADDR} (order {~order}), contact {ZHNAME} {CNMOBILE}.",
        ],
    ),
    "mixed_b": (
        "mix",
        [
            "用户{ZHNAME}在{ZHPLACE}登录，IP {IP}，版本 {~version}。",
            "Refund for {ZHNAME} to UnionPay card {UNIONPAY}; 发票号 {~invoice}.",
        ],
    ),
    "zh_ticket_a": (
        "zh",
        [
            "您好，我叫{ZHNAME}，手机号{CNMOBILE}，订单号{~order}一直没有发货。",
            "客户{ZHNAME}反映银行卡{UNIONPAY}被重复扣款，流水号{~long_digits}。",
            "请把发票寄到{ZHADDR}，收件人{ZHNAME}，电话{CNMOBILE}。",
        ],
    ),
    "zh_ticket_b": (
        "zh",
        [
            "{ZHNAME}来自{ZHPLACE}，身份证号码{CNID}，联系电话{CNMOBILE}。",
            "用户反馈：快递单号{~tracking}在{ZHPLACE}滞留，收件人{ZHNAME}。",
            "退款请打到卡号{UNIONPAY}，开户人{ZHNAME}，邮箱{ZHEMAIL}。",
        ],
    ),
    "zh_form_a": (
        "zh",
        [
            "姓名：{ZHNAME}\n身份证：{CNID}\n手机：{CNMOBILE}\n住址：{ZHADDR}",
            "申请人{ZHNAME}，籍贯{ZHPLACE}，证件号{CNID}。",
            "联系人：{ZHNAME}；地址：{ZHADDR}；邮箱：{ZHEMAIL}",
        ],
    ),
    "zh_form_b": (
        "zh",
        [
            "收货人：{ZHNAME}  电话：{CNMOBILE}  地址：{ZHADDR}",
            "持卡人{ZHNAME}，卡号{UNIONPAY}，所在地{ZHPLACE}。",
            "身份证号{CNID}的用户{ZHNAME}已完成实名认证。",
        ],
    ),
    "zh_chat_a": (
        "zh",
        [
            "我是{ZHNAME}，现在在{ZHPLACE}出差，有事打我电话{CNMOBILE}。",
            "{ZHNAME}说他下周去{ZHPLACE}，你把资料发到{ZHEMAIL}就行。",
            "麻烦帮我查一下{ZHNAME}的订单{~order}，他住在{ZHPLACE}。",
        ],
    ),
    "zh_chat_b": (
        "zh",
        [
            "刚和{ZHNAME}通完电话，他的新号码是{CNMOBILE}，搬到{ZHADDR}了。",
            "{ZHNAME}老师好，我的学号不是身份证号，身份证是{CNID}。",
            "明天{ZHNAME}和{ZHNAME}一起去{ZHPLACE}开会。",
        ],
    ),
    "zh_neg_a": (
        "zh",
        [
            "系统版本{~version}，更新时间{~timestamp}，校验值{~hash}。",
            "订单号{~order}，发票号{~invoice}，商品编码{~product_code}。",
            "该证件号{~invalid_cn_id}校验失败，银行卡{~invalid_unionpay}无效。",
        ],
    ),
    "zh_neg_b": (
        "zh",
        [
            "快递单号{~tracking}，批次号{~long_digits}，请求编号{~uuid}。",
            "图书ISBN {~isbn}，版本{~version}，出版时间{~timestamp}。",
            "无效证件号{~invalid_cn_id}，无效卡号{~invalid_unionpay}，流水{~long_digits}。",
        ],
    ),
}

SPLIT = {name: ("dev" if i % 2 == 0 else "test") for i, name in enumerate(FAMILIES)}


def fill(template: str, split: str) -> dict[str, object]:
    values = entity_values(split)
    text = ""
    entities: list[dict[str, object]] = []
    lookalikes: list[dict[str, object]] = []
    rest = template.replace("{{", "\x00").replace("}}", "\x01")
    while rest:
        head, brace, rest = rest.partition("{")
        text += head.replace("\x00", "{").replace("\x01", "}")
        if not brace:
            break
        slot, _, rest = rest.partition("}")
        start = len(text)
        if slot.startswith("~"):
            text += LOOKALIKES[slot[1:]]()
            lookalikes.append({"kind": slot[1:], "start": start, "end": len(text)})
        elif slot == "TITLE":
            text += title_en()
        elif slot == "WORD":
            text += rng.choice(COMMON_WORDS[split])
            lookalikes.append({"kind": "common_word", "start": start, "end": len(text)})
        else:
            text += values[slot]()
            entities.append({"type": TYPES[slot], "start": start, "end": len(text)})
    return {"text": text, "entities": entities, "lookalikes": lookalikes}


def main() -> None:
    rows: dict[str, list[dict[str, object]]] = {"dev": [], "test": []}
    for family, (lang, templates) in FAMILIES.items():
        split = SPLIT[family]
        per_template = 10 if lang == "en" else 12
        for template in templates:
            for _ in range(per_template):
                row = fill(template, split)
                row["family"] = family
                row["lang"] = lang
                rows[split].append(row)
    for split, items in rows.items():
        rng.shuffle(items)
        with (HERE / f"{split}.jsonl").open("w", encoding="utf-8") as out:
            for row in items:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(split, len(items), "texts")


if __name__ == "__main__":
    main()

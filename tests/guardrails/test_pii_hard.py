# ruff: noqa: RUF001  (Chinese punctuation in the test texts)
"""The PII check on the hard cases of issue 19: look-alikes, names and places, Chinese data,
redaction at the new boundaries, and the figures on the hard set's test split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracerail.guardrails import Action, CheckConfig
from tracerail.guardrails.checks.pii import PiiCheck
from tracerail.guardrails.pii_eval import (
    STRUCTURED,
    Example,
    evaluate,
    format_report,
    load_examples,
)
from tracerail.guardrails.recognizers import (
    cn_resident_id_valid,
    ip_in_version_context,
    mask_cjk,
)
from tracerail.guardrails.redaction import PlaceholderBook, Redactor
from tracerail.guardrails.types import Finding

HARD = Path(__file__).parent.parent / "data" / "pii"


@pytest.fixture(scope="module")
def check() -> PiiCheck:
    return PiiCheck(CheckConfig("pii", Action.REDACT))


def found(check: PiiCheck, text: str) -> list[tuple[str, str]]:
    verdict = check.check(text, target="input", context={})
    return sorted((f.type, text[f.start : f.end]) for f in verdict.findings)


def redact(check: PiiCheck, text: str) -> str:
    verdict = check.check(text, target="input", context={})
    return text if verdict.redacted_text is None else verdict.redacted_text


# --- validators -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("11010519491231002X", True),  # the published sample number
        ("110105194912310021", False),  # check character changed
        ("11010519491331002X", False),  # month 13
        ("1101051949123100", False),  # too short
        ("440305199001011234", False),
    ],
)
def test_cn_resident_id_checksum(value: str, valid: bool) -> None:
    assert cn_resident_id_valid(value) is valid


@pytest.mark.parametrize(
    ("text", "quad", "is_version"),
    [
        ("upgrade to 4.30.4.83 today", "4.30.4.83", True),
        ("running v4.30.4.83", "4.30.4.83", True),
        ("version: 10.2.0.1", "10.2.0.1", True),
        ("agent=app/1.28.3.44", "1.28.3.44", True),
        ("firmware 6.0.2.59.1", "6.0.2.59", True),
        ("系统版本8.33.8.86", "8.33.8.86", True),
        ("login from 23.51.71.214 at noon", "23.51.71.214", False),
        ("ip=23.51.71.214 agent", "23.51.71.214", False),
    ],
)
def test_ip_in_version_context(text: str, quad: str, is_version: bool) -> None:
    start = text.index(quad)
    assert ip_in_version_context(text, start, start + len(quad)) is is_version


def test_mask_cjk_keeps_offsets() -> None:
    text = "手机号13812345678，邮箱a@b.cn"
    masked = mask_cjk(text)
    assert len(masked) == len(text)
    assert masked[3:14] == "13812345678"
    assert "手" not in masked
    assert mask_cjk("plain ascii") == "plain ascii"


# --- structured look-alikes -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Upgrade to 4.30.4.83 fixes the crash.",
        "Kernel 103.149.43.9785 is current.",
        "SKU 936-945-8435 is back in stock.",
        "ISBN 978-3-16-148410-0 is out of print.",
        "ISBN 9780306406157 ships tomorrow.",
        "2024-03-05 14:22:31 INFO worker started",
        "01/05/2020 09:15 WARN slow request",
        "ts=1709650951 level=info",
        "order 123-4567890-1234567 shipped",
        "tracking 1Z999AA10123456784 delivered",
        "invoice INV-2024-00017 paid",
        "request 9f1c2e4a-7b3d-4e8f-9a0b-1c2d3e4f5a6b failed",
        "digest 3b18e512dba79e4c8300dd08aeb37f8e728b8dad",
        "batch 0971 4690 788 recalled",
        "SSN on the form: 000-12-3456 (invalid)",
        "SSN 666-12-3456 was rejected",
        "SSN 912-12-3456 was rejected",
        "SSN 123-00-4567 was rejected",
        "SSN 123-45-0000 was rejected",
        "card 4111 1111 1111 1112 failed its checksum",
        "证件号110105194912310021校验失败",
        "快递单号SF617287611139，流水号3099391875。",
    ],
)
def test_lookalikes_are_not_flagged(check: PiiCheck, text: str) -> None:
    assert [t for t in found(check, text) if t[0] in STRUCTURED] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ip=23.51.71.214 agent=app/1.2.3.4", ("IP_ADDRESS", "23.51.71.214")),
        ("call (415) 734-2210 after 5", ("PHONE_NUMBER", "(415) 734-2210")),
        ("SSN 772-40-7996 on file", ("US_SSN", "772-40-7996")),
        ("手机号13812345678，尽快联系", ("PHONE_NUMBER", "13812345678")),
        ("电话+86 138 0013 8000", ("PHONE_NUMBER", "+86 138 0013 8000")),
        ("身份证号11010519491231002X的用户", ("CN_RESIDENT_ID", "11010519491231002X")),
        ("银行卡6222020200112233445被扣款", None),
        ("邮箱wang12@163.com就行", ("EMAIL_ADDRESS", "wang12@163.com")),
        ("card=2221-0000-0000-0009 declined", ("CREDIT_CARD", "2221-0000-0000-0009")),
    ],
)
def test_structured_found(check: PiiCheck, text: str, expected: tuple[str, str] | None) -> None:
    if expected is None:  # the UnionPay number above fails Luhn on purpose
        assert not [t for t in found(check, text) if t[0] == "CREDIT_CARD"]
    else:
        assert expected in found(check, text)


def test_unionpay_19_digits_with_luhn(check: PiiCheck) -> None:
    body = "622202020011223344"
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    number = body + str((10 - total % 10) % 10)
    assert ("CREDIT_CARD", number) in found(check, f"客户反映银行卡{number}被重复扣款")


# --- names and places -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi, this is Olivia Whitaker from support.", [("PERSON", "Olivia Whitaker")]),
        ("Ticket from Dr. Okonkwo about billing.", [("PERSON", "Okonkwo")]),
        ("Best regards,\nPriya\n", [("PERSON", "Priya")]),
        ("hey it's Sofia again", [("PERSON", "Sofia")]),
        ("She moved to Lisbon last year.", [("LOCATION", "Lisbon")]),
        ("The Eiffel Tower in Paris opened in 1889.", [("LOCATION", "Paris")]),
        (
            "Ship to 1428 Maple Avenue, Denver.",
            [("LOCATION", "1428 Maple Avenue"), ("LOCATION", "Denver")],
        ),
        ("我叫张伟，明天去上海。", [("LOCATION", "上海"), ("PERSON", "张伟")]),
        ("收件人：王秀英", [("PERSON", "王秀英")]),
        ("用户冯一鸣已完成认证", [("PERSON", "冯一鸣")]),
        (
            "Sincerely,\nMalcolm Fairbanks\n2351 Willow Boulevard\nLisbon",
            [
                ("LOCATION", "2351 Willow Boulevard"),
                ("LOCATION", "Lisbon"),
                ("PERSON", "Malcolm Fairbanks"),
            ],
        ),
        (
            "请寄到杭州市西湖区中山路88号3栋1202室。",
            [("LOCATION", "杭州市西湖区中山路88号3栋1202室")],
        ),
    ],
)
def test_names_and_places_found(
    check: PiiCheck, text: str, expected: list[tuple[str, str]]
) -> None:
    assert found(check, text) == sorted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "Reading the release notes first.",
        "Mobile app crashes on start.",
        "Nice work on the deploy.",
        "Will you merge it? May the tests pass.",
        "The Order page and the Customer list load slowly.",
        "我们明天开会，讨论高速公路的预算。",
        "黄河路上的商店今天关门。",
    ],
)
def test_common_words_are_not_names_or_places(check: PiiCheck, text: str) -> None:
    assert found(check, text) == []


def test_names_can_be_switched_off() -> None:
    quiet = PiiCheck(CheckConfig("pii", Action.FLAG, options={"names": False}))
    assert found(quiet, "Hi, this is Olivia Whitaker from Lisbon.") == []
    only_places = PiiCheck(CheckConfig("pii", Action.FLAG, exclude_entities=("PERSON",)))
    assert found(only_places, "Hi, this is Olivia Whitaker from Lisbon.") == [
        ("LOCATION", "Lisbon")
    ]


# --- redaction at the new boundaries --------------------------------------------------------------
def test_redaction_of_chinese_text_without_spaces(check: PiiCheck) -> None:
    text = "我叫张伟，手机号13812345678，住在北京市朝阳区人民路12号。"
    assert redact(check, text) == "我叫<PERSON_1>，手机号<PHONE_1>，住在<LOCATION_1>。"


def test_same_value_same_placeholder_within_a_call(check: PiiCheck) -> None:
    text = "Olivia Whitaker called. Later Olivia Whitaker wrote from Lisbon; Lisbon again."
    assert redact(check, text) == (
        "<PERSON_1> called. Later <PERSON_1> wrote from <LOCATION_1>; <LOCATION_1> again."
    )


def test_placeholders_shared_across_checks_of_one_call(check: PiiCheck) -> None:
    book = PlaceholderBook()
    context = {"tracerail.placeholders": book}
    first = check.check("Write to 张伟 in 上海", target="input", context=context)
    second = check.check("我叫张伟。", target="output", context=context)
    assert first.redacted_text is not None and "<PERSON_1>" in first.redacted_text
    assert second.redacted_text == "我叫<PERSON_1>。"


def test_overlapping_findings_merge_into_one_placeholder() -> None:
    text = "Dr. Maria Lisbon-Okafor"
    findings = [Finding("PERSON", 4, 23, 0.7), Finding("LOCATION", 10, 16, 0.7)]
    assert Redactor().apply(text, findings, "placeholder") == "Dr. <PERSON_1>"
    adjacent = [Finding("PERSON", 0, 2, 0.7), Finding("LOCATION", 2, 4, 0.7)]
    assert Redactor().apply("张伟上海", adjacent, "placeholder") == "<PERSON_1><LOCATION_1>"


def test_mask_keeps_length_of_chinese_text(check: PiiCheck) -> None:
    masker = PiiCheck(CheckConfig("pii", Action.REDACT, operator="mask"))
    text = "收件人：王秀英，电话13912345678"
    out = redact(masker, text)
    assert len(out) == len(text)
    assert out == "收件人：***，电话***********"


# --- the scoring and the hard set -----------------------------------------------------------------
def test_scores_by_hand() -> None:
    example = Example(
        "Ann Lee, 4.3.2.1, ann@x.io",
        entities=(("PERSON", 0, 7), ("EMAIL_ADDRESS", 18, 26)),
        lookalikes=(("version", 9, 16),),
    )
    findings = [
        Finding("PERSON", 0, 3),  # overlaps the gold name, not exact
        Finding("IP_ADDRESS", 9, 16),  # the look-alike
        Finding("EMAIL_ADDRESS", 18, 26),  # exact
    ]
    report = evaluate([example], lambda _: findings)
    person, email, ip = (report.types[t] for t in ("PERSON", "EMAIL_ADDRESS", "IP_ADDRESS"))
    assert (person.recall, person.precision, person.exact_recall) == (1.0, 1.0, 0.0)
    assert (email.exact_recall, email.exact_precision) == (1.0, 1.0)
    assert (ip.gold, ip.found, ip.precision) == (0, 1, 0.0)
    assert report.lookalike_fp_rate == 1.0
    assert report.coverage == (3 + 8) / (7 + 8)
    total = report.total()
    assert (total.gold, total.found, total.recalled, total.precise) == (2, 3, 2, 2)
    assert "look-alikes flagged: 1/1" in format_report(report)
    # two tiers agreeing on one span: two exact findings, still one gold span recalled
    twice = evaluate([example], lambda _: [findings[2], findings[2]])
    assert twice.types["EMAIL_ADDRESS"].exact_recall == 1.0


def test_load_examples_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    good = '{"text": "ok", "entities": []}'
    outside = '{"text": "ab", "entities": [{"type": "X", "start": 1, "end": 9}]}'
    bad.write_text(f"{good}\n{outside}\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2"):
        load_examples(bad)


def _rows(split: str) -> list[dict[str, object]]:
    lines = (HARD / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_hard_set_is_large_split_by_family_and_by_name() -> None:
    dev, test = _rows("dev"), _rows("test")
    assert len(dev) + len(test) >= 500 and len(test) >= 250
    assert not {r["family"] for r in dev} & {r["family"] for r in test}
    for rows in (dev, test):
        assert {r["lang"] for r in rows} == {"en", "zh", "mix"}
        kinds = {la["kind"] for r in rows for la in r["lookalikes"]}  # type: ignore[attr-defined]
        assert {"version", "isbn", "uuid", "hash", "timestamp", "order", "tracking"} <= kinds
        assert {"invoice", "product_code", "invalid_card", "invalid_ssn", "invalid_iban"} <= kinds

    def people(rows: list[dict[str, object]]) -> set[str]:
        return {
            str(r["text"])[e["start"] : e["end"]]  # type: ignore[index]
            for r in rows
            for e in r["entities"]  # type: ignore[attr-defined]
            if e["type"] == "PERSON"
        }

    assert not people(dev) & people(test)


def test_figures_on_the_test_split(check: PiiCheck) -> None:
    """The issue's targets on the split nobody tuned on (see docs/guardrails.md)."""
    report = evaluate(
        load_examples(HARD / "test.jsonl"),
        lambda text: check.check(text, target="input", context={}).findings,
    )
    structured = report.total(STRUCTURED)
    assert structured.recall >= 0.97 and structured.precision >= 0.95, format_report(report)
    assert report.lookalike_fp_rate <= 0.05, format_report(report)
    for entity in ("PERSON", "LOCATION"):
        score = report.types[entity]
        assert score.recall >= 0.90 and score.precision >= 0.90, format_report(report)

"""The review queue against the real collector: seeded stratified sample, labels as human
scores with the reviewer's id, the audit ledger, validation, and the ``tracerail review`` CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.support.review_data import STRATA, ReviewWorkload, day_start, populate
from tests.support.server import RunningServer
from tracerail.collector.cli import app
from tracerail.collector.review import sample_size
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.ledger import verify

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def workload(collector: RunningServer) -> ReviewWorkload:
    return populate(collector)


def _sample(collector: RunningServer, **params: Any) -> dict[str, Any]:
    response = httpx.get(
        collector.base_url + "/api/v1/review/sample",
        params={"period": "day", **params},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["trace_id"], i["span_id"]) for i in body["items"]]


def _period(days_ago: int) -> str:
    return day_start(days_ago).strftime("%Y-%m-%dT%H:%M:%SZ")


def _label(collector: RunningServer, **body: Any) -> httpx.Response:
    return httpx.post(collector.base_url + "/api/v1/review/labels", json=body, timeout=60)


def _review_scores(store: ClickHouseStore) -> list[dict[str, Any]]:
    return store.query(
        "SELECT span_id, name, value, data_type, label, comment, source, reviewer "
        f"FROM {store.table('scores')} WHERE source = 'human' ORDER BY span_id, name"
    )


def test_sample_is_stratified_and_sized(collector: RunningServer, workload: ReviewWorkload) -> None:
    body = _sample(collector, seed=7, margin=0.2)
    strata = {(s["model"], s["period_start"]): s for s in body["strata"]}
    # Only generations with sources count; the tool span and source-less calls are left out.
    expected = {(m, _period(d)): n for (m, d), n in STRATA.items()}
    assert {k: s["population"] for k, s in strata.items()} == expected
    for key, stratum in strata.items():
        assert stratum["sample_size"] == sample_size(expected[key], 0.2)
        assert stratum["margin_when_labelled"] <= 0.2
        assert stratum["labelled"] == 0
    assert body["total"] == sum(s["sample_size"] for s in body["strata"]) == len(body["items"])
    got = Counter((i["model"], i["period_start"]) for i in body["items"])
    assert got == {k: s["sample_size"] for k, s in strata.items()}
    sent = {
        ids: (model, _period(days))
        for (model, days), spans in workload.generations.items()
        for ids in spans
    }
    for item in body["items"]:
        # Each item belongs to the stratum it is listed under.
        assert sent[(item["trace_id"], item["span_id"])] == (item["model"], item["period_start"])
    # What the reviewer sees: question, sources (text from the retrieval span), answer.
    item = body["items"][0]
    assert item["question"].startswith("Question ") and "<PERSON_1>" in item["question"]
    assert item["answer"].startswith("Within ")
    assert item["sources"][0]["text"].startswith("Policy ")
    assert item["sources"][0]["sha256"]
    assert item["review"] is None


def test_sample_is_reproducible(collector: RunningServer, workload: ReviewWorkload) -> None:
    first = _sample(collector, seed=42, per_stratum=5)
    again = _sample(collector, seed=42, per_stratum=5)
    other = _sample(collector, seed=43, per_stratum=5)
    assert first["total"] == 15  # 5 from each of 3 strata
    assert _ids(first) == _ids(again)
    assert set(_ids(first)) != set(_ids(other))
    # The ranking is one per seed: a larger sample extends a smaller one, stratum by stratum.
    larger = _sample(collector, seed=42, per_stratum=8)
    for key in {(i["model"], i["period_start"]) for i in first["items"]}:
        small = [
            (i["rank"], i["span_id"])
            for i in first["items"]
            if (i["model"], i["period_start"]) == key
        ]
        big = [
            (i["rank"], i["span_id"])
            for i in larger["items"]
            if (i["model"], i["period_start"]) == key
        ]
        assert big[: len(small)] == small
    # Pages: offset/limit walk the same ordered sample.
    page1 = _sample(collector, seed=42, per_stratum=5, limit=6)
    page2 = _sample(collector, seed=42, per_stratum=5, limit=6, offset=page1["next_offset"])
    page3 = _sample(collector, seed=42, per_stratum=5, limit=6, offset=page2["next_offset"])
    assert page3["next_offset"] is None
    assert _ids(page1) + _ids(page2) + _ids(page3) == _ids(first)
    # A model filter keeps that model's strata only.
    only_b = _sample(collector, seed=42, per_stratum=5, model="m-b")
    assert {s["model"] for s in only_b["strata"]} == {"m-b"}


def test_other_periods_and_populations(collector: RunningServer, workload: ReviewWorkload) -> None:
    whole = _sample(collector, seed=3, per_stratum=4, period="all")
    assert {(s["model"], s["period_start"], s["population"]) for s in whole["strata"]} == {
        ("m-a", None, 42),
        ("m-b", None, 8),
    }
    everything = _sample(collector, seed=3, per_stratum=4, period="all", population="all")
    # The 5 generations without sources count too; the tool span never does.
    assert {s["model"]: s["population"] for s in everything["strata"]} == {"m-a": 47, "m-b": 8}
    # "scored": only generations an evaluator (auto or judge) scored.
    scored = workload.generations[("m-b", 1)][:3]
    for trace_id, span_id in scored:
        response = httpx.post(
            collector.base_url + "/api/v1/scores",
            json={
                "trace_id": trace_id,
                "span_id": span_id,
                "name": "hallucination",
                "value": 0.2,
                "source": "auto",
            },
        )
        assert response.status_code == 201, response.text
    body = _sample(collector, seed=3, per_stratum=10, period="all", population="scored")
    assert [(s["model"], s["population"]) for s in body["strata"]] == [("m-b", 3)]
    assert set(_ids(body)) == set(scored)


def test_labels_are_human_scores_with_reviewer_and_in_the_ledger(
    collector: RunningServer, store: ClickHouseStore, workload: ReviewWorkload
) -> None:
    items = _sample(collector, seed=1, per_stratum=2)["items"]
    picks = [{"trace_id": i["trace_id"], "span_id": i["span_id"]} for i in items[:3]]
    labels = [
        {**picks[0], "label": "grounded", "note": "matches kb"},
        {**picks[1], "label": "hallucinated", "note": "wrong number of days"},
        {**picks[2], "label": "unsure"},
    ]
    response = _label(collector, reviewer="alice@example.org", labels=labels)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["written"] == 3 and body["ledger"]["seq"] >= 1
    stored = {r["span_id"]: r for r in _review_scores(store)}
    assert {k: (r["name"], r["value"], r["label"]) for k, r in stored.items()} == {
        picks[0]["span_id"]: ("hallucination", 0.0, "grounded"),
        picks[1]["span_id"]: ("hallucination", 1.0, "hallucinated"),
        picks[2]["span_id"]: ("hallucination_review", 0.0, "unsure"),
    }
    assert {r["reviewer"] for r in stored.values()} == {"alice@example.org"}
    assert stored[picks[1]["span_id"]]["comment"] == "wrong number of days"
    # unsure counts in no rate: only the two decisive labels are human hallucination scores.
    counted = store.query(
        f"SELECT sum(evaluated) AS n FROM {store.table('hallucination_stats')} "
        "WHERE source = 'human'"
    )
    assert counted[0]["n"] == 2
    # Each label is a ledger row (kind score) naming the reviewer; the chain still verifies.
    rows = store.query(
        f"SELECT span_id, payload FROM {store.table('ledger_rows')} WHERE kind = 'score'"
    )
    payloads = {r["span_id"]: json.loads(r["payload"]) for r in rows}
    assert set(payloads) == {p["span_id"] for p in picks}
    assert payloads[picks[1]["span_id"]]["reviewer"] == "alice@example.org"
    assert payloads[picks[1]["span_id"]]["label"] == "hallucinated"
    assert "wrong number" not in json.dumps(payloads)  # the note only as a hash
    assert verify(store).ok
    # The sample now shows the labels and counts them per stratum.
    again = _sample(collector, seed=1, per_stratum=2)
    assert again["labelled"] == 3
    shown = {i["span_id"]: i["review"] for i in again["items"] if i["review"]}
    assert shown[picks[1]["span_id"]]["label"] == "hallucinated"
    assert shown[picks[1]["span_id"]]["reviewer"] == "alice@example.org"
    assert shown[picks[1]["span_id"]]["note"] == "wrong number of days"


@pytest.mark.parametrize(
    ("change", "status", "names"),
    [
        ({"label": "maybe"}, 400, "labels.0.label"),
        ({"trace_id": "xyz"}, 400, "labels.0.trace_id"),
        ({"note": "x" * 4001}, 400, "labels.0.note"),
    ],
)
def test_invalid_labels_are_refused_naming_the_field(
    collector: RunningServer,
    store: ClickHouseStore,
    workload: ReviewWorkload,
    change: dict[str, str],
    status: int,
    names: str,
) -> None:
    trace_id, span_id = workload.generations[("m-a", 1)][0]
    label = {"trace_id": trace_id, "span_id": span_id, "label": "grounded", **change}
    response = _label(collector, reviewer="bob", labels=[label])
    assert response.status_code == status
    assert response.json()["detail"].startswith(names), response.json()
    assert _review_scores(store) == []


def test_a_bad_label_writes_nothing(
    collector: RunningServer, store: ClickHouseStore, workload: ReviewWorkload
) -> None:
    t0, s0 = workload.generations[("m-a", 1)][0]
    good = {"trace_id": t0, "span_id": s0, "label": "grounded"}
    cases = [
        (
            {"reviewer": "bob", "labels": [good, {**good, "span_id": "0" * 16}]},
            404,
            "labels[1].span_id",
        ),
        (
            {"reviewer": "bob", "labels": [good, {**good, "label": "hallucinated"}]},
            422,
            "labels[1].span_id",
        ),
        (
            {
                "reviewer": "bob",
                "labels": [
                    good,
                    {
                        "trace_id": workload.tool_span[0],
                        "span_id": workload.tool_span[1],
                        "label": "grounded",
                    },
                ],
            },
            422,
            "labels[1].span_id",
        ),
        ({"reviewer": "  ", "labels": [good]}, 422, "reviewer"),
        ({"labels": [good]}, 400, "reviewer"),
        ({"reviewer": "bob", "labels": []}, 400, "labels"),
    ]
    for body, status, names in cases:
        response = _label(collector, **body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["detail"].startswith(names), response.json()
    assert _review_scores(store) == []
    rows = store.query(
        f"SELECT count() AS n FROM {store.table('ledger_rows')} WHERE kind = 'score'"
    )
    assert rows[0]["n"] == 0


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"margin": "0"}, "margin"),
        ({"margin": "0.9"}, "margin"),
        ({"per_stratum": "0"}, "per_stratum"),
        ({"period": "year"}, "period"),
        ({"population": "every"}, "population"),
        ({"seed": "-1"}, "seed"),
        ({"from": "2026-01-01T00:00:00"}, "from"),
    ],
)
def test_bad_sample_parameters_are_400(
    collector: RunningServer, params: dict[str, str], names: str
) -> None:
    response = httpx.get(collector.base_url + "/api/v1/review/sample", params=params)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(names), response.json()


# --- CLI ----------------------------------------------------------------------------------------


def _cli(collector: RunningServer, *args: str) -> Any:
    return CliRunner().invoke(app, ["review", *args, "--endpoint", collector.base_url])


EXPORT = ("export", "--seed", "5", "--per-stratum", "3", "--period", "day")


def test_cli_sample_export_import(
    collector: RunningServer, store: ClickHouseStore, workload: ReviewWorkload, tmp_path: Path
) -> None:
    shown = _cli(collector, "sample", "--seed", "5", "--margin", "0.2", "--period", "day")
    assert shown.exit_code == 0, shown.output
    assert "m-a" in shown.output and "m-b" in shown.output
    out = tmp_path / "queue.jsonl"
    exported = _cli(collector, *EXPORT, "--output", str(out))
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 9
    assert set(lines[0]) >= {
        "id",
        "trace_id",
        "span_id",
        "model",
        "question",
        "sources",
        "answer",
        "label",
        "note",
    }
    assert lines[0]["label"] == "" and lines[0]["note"] == ""
    # The same seed exports the same items.
    again = tmp_path / "again.jsonl"
    assert _cli(collector, *EXPORT, "--output", str(again)).exit_code == 0
    assert again.read_text() == out.read_text()

    # A file with bad lines is refused whole, each problem named by line; nothing is written.
    lines[0]["label"] = "grounded"
    lines[1]["label"] = "maybe"
    lines[2]["label"] = "hallucinated"
    lines[3]["span_id"] = "nothex"
    lines[3]["label"] = "unsure"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n")
    refused = _cli(collector, "import", str(bad), "--reviewer", "carol")
    assert refused.exit_code == 2
    assert "line 2: label:" in refused.output
    assert "line 4: span_id:" in refused.output
    assert "line 10:" in refused.output
    assert "nothing was written" in refused.output
    assert _review_scores(store) == []

    # Well-formed, but the collector has no such span: its refusal is reported by file line.
    unknown = tmp_path / "unknown.jsonl"
    stray = {"trace_id": "f" * 32, "span_id": "e" * 16, "label": "grounded"}
    unknown.write_text(json.dumps(lines[0]) + "\n\n" + json.dumps(stray) + "\n")
    refused = _cli(collector, "import", str(unknown), "--reviewer", "carol")
    assert refused.exit_code == 2
    assert "unknown_span: line 3: span_id: span eeeeeeeeeeeeeeee" in refused.output
    assert "nothing was written" in refused.output
    assert _review_scores(store) == []

    # Fixed, it imports: labelled lines only (empty labels are skipped).
    lines[1]["label"] = ""
    lines[3] = json.loads(out.read_text().splitlines()[3]) | {"label": "unsure", "note": "?"}
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    imported = _cli(collector, "import", str(good), "--reviewer", "carol")
    assert imported.exit_code == 0, imported.output
    assert "imported 3 labels" in imported.output
    stored = _review_scores(store)
    assert sorted(r["label"] for r in stored) == ["grounded", "hallucinated", "unsure"]
    assert {r["reviewer"] for r in stored} == {"carol"}
    missing = _cli(collector, "import", str(good))
    assert missing.exit_code != 0

"""The price table: lookup, overrides, files, cost arithmetic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tracerail import ConfigError
from tracerail.pricing import (
    ModelPrice,
    TokenUsage,
    cost_usd,
    get_price,
    load_prices,
    reset_prices,
    set_price,
)


@pytest.fixture(autouse=True)
def _fresh_table() -> Iterator[None]:
    reset_prices()
    yield
    reset_prices()


@pytest.mark.parametrize(
    ("model", "row"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("text-embedding-3-small", "text-embedding-3-small"),
    ],
)
def test_lookup_uses_exact_name_or_longest_dated_prefix(model: str, row: str) -> None:
    assert get_price(model) == get_price(row)
    assert get_price(model) is not None


def test_prefix_needs_a_dash_boundary() -> None:
    assert get_price("gpt-4oX") is None
    assert get_price("o3x") is None


def test_cost_splits_token_classes() -> None:
    set_price(
        "m", ModelPrice(input=1.0, output=2.0, cached_input=0.5, cache_write=3.0, reasoning=4.0)
    )
    usage = TokenUsage(
        input_tokens=100,
        output_tokens=50,
        cached_input_tokens=20,
        cache_creation_input_tokens=10,
        reasoning_tokens=5,
    )
    expected = (70 * 1.0 + 20 * 0.5 + 10 * 3.0 + 45 * 2.0 + 5 * 4.0) / 1e6
    assert cost_usd("m", usage) == pytest.approx(expected)


def test_unknown_model_has_no_cost_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    assert cost_usd("nobody-knows", TokenUsage(10, 10)) is None
    assert cost_usd("nobody-knows", TokenUsage(10, 10)) is None
    assert len([r for r in caplog.records if "nobody-knows" in r.getMessage()]) == 1


def test_override_from_code_applies_to_snapshots() -> None:
    set_price("gpt-4o", ModelPrice(input=100.0, output=0.0))
    assert cost_usd("gpt-4o-2024-08-06", TokenUsage(1_000_000, 0)) == pytest.approx(100.0)


def test_load_prices_from_a_policy_style_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[pricing.models."house-llm"]\ninput = 1.0\noutput = 3.0\n')
    assert load_prices(path) == {"house-llm": ModelPrice(input=1.0, output=3.0)}
    assert cost_usd("house-llm", TokenUsage(1_000_000, 1_000_000)) == pytest.approx(4.0)


@pytest.mark.parametrize(
    "text",
    [
        '[models."x"]\noutput = 1.0\n',
        '[models."x"]\ninput = -1\n',
        '[models."x"]\ninput = 1\nfoo = 2\n',
    ],
)
def test_bad_price_file_names_the_entry(tmp_path: Path, text: str) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"pricing\.models\.x"):
        load_prices(path)


def test_prices_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prices.toml"
    path.write_text('[models."env-model"]\ninput = 2.0\n')
    monkeypatch.setenv("TRACERAIL_PRICES_FILE", str(path))
    reset_prices()
    assert get_price("env-model") == ModelPrice(input=2.0)
    assert get_price("gpt-4o") is not None

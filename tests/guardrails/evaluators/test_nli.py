"""The ``nli`` evaluator's loading and scoring code, on tiny models built here.

Real NLI weights cannot be downloaded on these machines, so every model below is a tiny BERT
(random weights) built from a config and a word-level vocabulary in the test, saved with
``save_pretrained`` and loaded through the evaluator's own loading path. The tests check
shapes, ranges, label mapping and claims, never accuracy: random weights have none.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

# Nothing here may reach a model hub: every model is built and loaded from tmp_path.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The [nli] extra is part of the dev install (make install): these run, never skip.
import torch

from tracerail.guardrails.evaluators import (
    LABEL_GROUNDED,
    LABEL_HALLUCINATED,
    Evaluation,
    EvaluatorError,
    get_evaluator,
)
from tracerail.guardrails.evaluators.nli import NliEvaluator, label_roles

WORDS = (
    "refunds are issued within 14 30 days of a return being received the store "
    "opens at 9 am closes 5 pm on sundays not"
).split()


def _tiny_model(directory: Path, id2label: dict[int, str], seed: int = 0) -> Path:
    """A 1-layer BERT classifier with ``id2label`` and its tokenizer, saved in ``directory``."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tokenizer = BertTokenizer(vocab_file=str(vocab), do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(WORDS) + 5,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    BertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


NLI_LABELS = {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}
SOURCES = [
    "Refunds are issued within 14 days of a return being received.",
    "The store opens at 9 am.",
]
ANSWER = "Refunds are issued within 30 days. The store opens at 9 am."


@pytest.fixture(scope="module")
def nli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_model(tmp_path_factory.mktemp("nli") / "tiny-nli", NLI_LABELS)


def test_loads_from_a_local_directory_through_the_registry(nli_dir: Path) -> None:
    evaluator = get_evaluator("nli", model=str(nli_dir), max_length=64)
    assert isinstance(evaluator, NliEvaluator)
    assert evaluator.name == "nli"
    assert evaluator.version == "1.0+tiny-nli"
    assert evaluator.roles == {"contradiction": 0, "neutral": 1, "entailment": 2}


def test_scores_every_claim_in_range_with_its_offsets(nli_dir: Path) -> None:
    evaluator = NliEvaluator(model=str(nli_dir), max_length=64)
    result = evaluator.evaluate(ANSWER, SOURCES, question="when?")
    assert isinstance(result, Evaluation)
    assert (result.evaluator, result.version, result.prompt_sha256) == ("nli", "1.0+tiny-nli", "")
    assert [ANSWER[c.start : c.end] for c in result.claims] == [
        "Refunds are issued within 30 days.",
        "The store opens at 9 am.",
    ]
    for claim in result.claims:
        assert 0.0 <= claim.support <= 1.0
        assert claim.source_index in (0, 1)
    assert 0.0 <= result.score <= 1.0
    # The answer's score is 1 - the weakest claim's support; the label follows the threshold.
    assert result.score == pytest.approx(1.0 - min(c.support for c in result.claims), abs=1e-6)
    assert result.label == (LABEL_HALLUCINATED if result.score >= 0.5 else LABEL_GROUNDED)
    assert result.extra["model"] == str(nli_dir)


def test_entailment_matches_a_direct_softmax_of_the_model(nli_dir: Path) -> None:
    """The probability read is softmax(logits)[entailment index], the index from id2label."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    evaluator = NliEvaluator(model=str(nli_dir), max_length=64, batch_size=1)
    pairs = [(SOURCES[0], "Refunds are issued within 30 days."), (SOURCES[1], "The store opens")]
    got = evaluator.entailment(pairs)
    model = AutoModelForSequenceClassification.from_pretrained(str(nli_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(nli_dir))
    with torch.no_grad():
        encoded = tokenizer(
            [p for p, _ in pairs], [h for _, h in pairs], return_tensors="pt", padding=True
        )
        expected = torch.softmax(model(**encoded).logits, dim=-1)[:, 2].tolist()
    assert got == pytest.approx(expected, abs=1e-5)


def test_a_single_source_is_not_joined_and_empty_inputs_are_decided(nli_dir: Path) -> None:
    evaluator = NliEvaluator(model=str(nli_dir), max_length=64)
    assert evaluator.evaluate("", SOURCES).score == 0.0
    assert evaluator.evaluate("   ", SOURCES).label == LABEL_GROUNDED
    no_sources = evaluator.evaluate(ANSWER, [])
    assert (no_sources.score, no_sources.label) == (1.0, LABEL_HALLUCINATED)
    assert len(no_sources.claims) == 2
    single = evaluator.evaluate("The store opens at 9 am.", [SOURCES[1]])
    assert [c.source_index for c in single.claims] == [0]


def test_long_sources_are_truncated_not_failed(nli_dir: Path) -> None:
    evaluator = NliEvaluator(model=str(nli_dir), max_length=24)
    long_source = " ".join(["the store opens at 9 am"] * 40)
    result = evaluator.evaluate("The store opens at 9 am.", [long_source, long_source])
    assert result.label in (LABEL_GROUNDED, LABEL_HALLUCINATED)
    assert math.isfinite(result.score)


def test_two_label_model_and_explicit_entailment_label(tmp_path: Path) -> None:
    named = _tiny_model(tmp_path / "named", {0: "hallucinated", 1: "consistent"})
    assert NliEvaluator(model=str(named)).roles == {"contradiction": 0, "entailment": 1}
    generic = _tiny_model(tmp_path / "generic", {0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(EvaluatorError, match="entailment_label"):
        NliEvaluator(model=str(generic))
    chosen = NliEvaluator(model=str(generic), entailment_label="LABEL_1")
    assert chosen.roles == {"entailment": 1}
    assert 0.0 <= chosen.evaluate("The store opens at 9 am.", SOURCES).score <= 1.0


def test_single_logit_model_reads_a_sigmoid(tmp_path: Path) -> None:
    one = _tiny_model(tmp_path / "one", {0: "score"})
    evaluator = NliEvaluator(model=str(one))
    [p] = evaluator.entailment([(SOURCES[1], "The store opens at 9 am.")])
    assert 0.0 < p < 1.0


def test_a_directory_without_a_model_is_a_clear_evaluator_error(tmp_path: Path) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with pytest.raises(EvaluatorError, match="cannot load model"):
        NliEvaluator(model=str(empty))


@pytest.mark.parametrize(
    ("id2label", "roles"),
    [
        (
            {0: "entailment", 1: "neutral", 2: "contradiction"},
            {"entailment": 0, "neutral": 1, "contradiction": 2},
        ),
        ({0: "not_entailment", 1: "entailment"}, {"contradiction": 0, "entailment": 1}),
        ({0: "Inconsistent", 1: "Consistent"}, {"contradiction": 0, "entailment": 1}),
        ({0: "SUPPORTED", 1: "UNSUPPORTED"}, {"entailment": 0, "contradiction": 1}),
    ],
)
def test_label_roles_from_names(id2label: dict[int, str], roles: dict[str, int]) -> None:
    assert label_roles(id2label) == roles


MODELING = '''
import torch
from transformers import PretrainedConfig, PreTrainedModel


class TinyConsistencyConfig(PretrainedConfig):
    model_type = "tiny-consistency"


class TinyConsistencyModel(PreTrainedModel):
    """Like HHEM: its own code and a predict(pairs) of consistency scores (word overlap)."""

    config_class = TinyConsistencyConfig

    def __init__(self, config):
        super().__init__(config)
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.post_init()

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def predict(self, pairs):
        scores = []
        for premise, hypothesis in pairs:
            words = set(hypothesis.lower().rstrip(".").split())
            seen = set(premise.lower().rstrip(".").split())
            scores.append(len(words & seen) / max(1, len(words)))
        return torch.tensor(scores) * self.scale
'''


def test_a_model_with_its_own_predict_is_scored_through_it(tmp_path: Path) -> None:
    """The HHEM-2.1-Open path: remote code (here written by the test) loaded with
    trust_remote_code=True, scored through the model's own predict(pairs)."""
    import importlib.util

    directory = tmp_path / "tiny-consistency"
    directory.mkdir()
    (directory / "modeling_tiny.py").write_text(MODELING)
    spec = importlib.util.spec_from_file_location("modeling_tiny", directory / "modeling_tiny.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.TinyConsistencyConfig()
    config.auto_map = {
        "AutoConfig": "modeling_tiny.TinyConsistencyConfig",
        "AutoModelForSequenceClassification": "modeling_tiny.TinyConsistencyModel",
    }
    module.TinyConsistencyModel(config).save_pretrained(directory)

    evaluator = NliEvaluator(model=str(directory), trust_remote_code=True)
    assert type(evaluator._model).__name__ == "TinyConsistencyModel"
    grounded = evaluator.evaluate("The store opens at 9 am.", SOURCES)
    assert (grounded.score, grounded.label) == (0.0, LABEL_GROUNDED)
    assert grounded.claims[0].source_index == 1
    wrong = evaluator.evaluate("The store opens at 10 am.", SOURCES)
    # 5 of 6 words seen (best premise: the source alone, or both joined): support 5/6
    assert wrong.score == pytest.approx(1 / 6, abs=1e-6)
    assert wrong.label == LABEL_GROUNDED  # at the default threshold 0.5: word overlap is weak

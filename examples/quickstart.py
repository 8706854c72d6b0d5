"""Quick start: trace a small retrieval-augmented answer with ``@tracerail.observe``.

Run it against a collector (``make run`` starts one):

    TRACERAIL_ENDPOINT=http://127.0.0.1:4318 python examples/quickstart.py
"""

from __future__ import annotations

from opentelemetry import trace

import tracerail

DOCUMENTS = {
    "refunds": "Refunds are issued within 14 days of a return being received.",
    "shipping": "Standard shipping takes 3 to 5 business days.",
}


@tracerail.observe(kind="retrieval")
def retrieve(question: str) -> list[str]:
    """Pick the documents whose key word appears in the question."""
    return [text for key, text in DOCUMENTS.items() if key.rstrip("s") in question.lower()]


@tracerail.observe(kind="generation", name="chat demo-model")
def generate(question: str, context: list[str]) -> str:
    """Stand-in for a model call: answer from the retrieved context."""
    return context[0] if context else "I don't know."


@tracerail.observe(kind="agent")
def answer(question: str) -> str:
    return generate(question, retrieve(question))


def main() -> list[str]:
    tracerail.init(service_name="quickstart")
    trace_ids = []
    for question in ("How long do refunds take?", "How long is shipping?", "Do you sell hats?"):
        with trace.get_tracer("quickstart").start_as_current_span("request") as span:
            print(f"Q: {question}\nA: {answer(question)}")
            trace_ids.append(format(span.get_span_context().trace_id, "032x"))
    tracerail.flush()
    tracerail.shutdown()
    return trace_ids


if __name__ == "__main__":
    for trace_id in main():
        print(f"trace {trace_id}")

"""Quick start: a small retrieval-augmented answer, traced and guarded by tracerail.

``@tracerail.observe`` traces the app's own steps; ``tracerail.instrument`` traces the real
OpenAI client. The model is tracerail's bundled local stand-in for the OpenAI API, so this runs
offline. Run it against a collector (``make run`` starts one):

    TRACERAIL_ENDPOINT=http://127.0.0.1:4318 python examples/quickstart.py
"""

from __future__ import annotations

import openai
from opentelemetry import trace

import tracerail
from tracerail.testing import LocalModelServer

DOCUMENTS = {
    "refunds": "Refunds are issued within 14 days of a return being received.",
    "shipping": "Standard shipping takes 3 to 5 business days.",
}


@tracerail.observe(kind="retrieval")
def retrieve(question: str) -> list[str]:
    """Pick the documents whose key word appears in the question."""
    return [text for key, text in DOCUMENTS.items() if key.rstrip("s") in question.lower()]


def make_agent(client: openai.OpenAI):  # type: ignore[no-untyped-def]
    @tracerail.observe(kind="agent")
    def answer(question: str) -> str:
        context = retrieve(question)
        result = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Answer from: " + " ".join(context)},
                {"role": "user", "content": question},
            ],
            temperature=0.2,
        )
        return result.choices[0].message.content or ""

    return answer


def main() -> list[str]:
    tracerail.init(service_name="quickstart")
    trace_ids = []
    with LocalModelServer() as model:
        model.set_reply(None)  # the stand-in echoes the question
        client = tracerail.instrument(
            openai.OpenAI(base_url=model.openai_base_url, api_key="local", max_retries=0)
        )
        answer = make_agent(client)
        for question in (
            "How long do refunds take?",
            "How long is shipping?",
            "Do you sell hats?",
        ):
            with trace.get_tracer("quickstart").start_as_current_span("request") as span:
                print(f"Q: {question}\nA: {answer(question)}")
                trace_ids.append(format(span.get_span_context().trace_id, "032x"))
    tracerail.flush()
    tracerail.shutdown()
    return trace_ids


if __name__ == "__main__":
    for trace_id in main():
        print(f"trace {trace_id}")

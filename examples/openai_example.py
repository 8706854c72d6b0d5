"""The OpenAI client, instrumented: chat, a stream, the Responses API and embeddings.

Runs offline against tracerail's local stand-in for the OpenAI API. Send the spans to a
collector (``make run`` starts one) or set ``TRACERAIL_ENDPOINT``:

    python examples/openai_example.py
"""

from __future__ import annotations

import openai

import tracerail
from tracerail.testing import LocalModelServer


def main() -> None:
    tracerail.init(service_name="openai-example")
    with LocalModelServer() as model:
        # With a real key, drop base_url: the same code traces the real API.
        client = tracerail.instrument(
            openai.OpenAI(base_url=model.openai_base_url, api_key="local", max_retries=0)
        )
        chat = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello there"}]
        )
        print("chat:", chat.choices[0].message.content)

        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Stream a reply"}],
            stream=True,
            stream_options={"include_usage": True},  # token counts (and cost) for streams
        )
        print("stream:", "".join(c.choices[0].delta.content or "" for c in stream if c.choices))

        response = client.responses.create(model="gpt-4.1", input="Summarise tracerail")
        print("responses:", response.output_text)

        vectors = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
        print("embeddings:", len(vectors.data), "vectors")
    tracerail.flush()
    tracerail.shutdown()


if __name__ == "__main__":
    main()

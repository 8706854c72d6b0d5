"""The Anthropic client, instrumented: a message and the ``messages.stream`` helper.

Runs offline against tracerail's local stand-in for the Anthropic API:

    python examples/anthropic_example.py
"""

from __future__ import annotations

import anthropic

import tracerail
from tracerail.testing import LocalModelServer


def main() -> None:
    tracerail.init(service_name="anthropic-example")
    with LocalModelServer() as model:
        client = tracerail.instrument(
            anthropic.Anthropic(base_url=model.url, api_key="local", max_retries=0)
        )
        message = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=200,
            system="Be brief.",
            messages=[{"role": "user", "content": "Hello there"}],
        )
        print("message:", message.content[0].text)  # type: ignore[union-attr]

        with client.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=200,
            messages=[{"role": "user", "content": "Stream a reply"}],
        ) as stream:
            print("stream:", "".join(stream.text_stream))
    tracerail.flush()
    tracerail.shutdown()


if __name__ == "__main__":
    main()

"""Where the text of a model call lives, and how to put redacted text back.

Input: every string argument, and the ``content`` of each message in a ``messages`` list
(plain strings, or the ``text`` of multi-part content). Output: a returned string, or the text
of a returned message (``content``), an OpenAI-style ``choices[].message.content`` or an
Anthropic-style ``content[].text``. Input structures are copied, never changed in place.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from typing import Any

Setter = Callable[[str], None]


class Slots:
    """Texts found in a structure, each with the setter that replaces it."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.setters: list[Setter] = []

    def add(self, text: str, setter: Setter) -> None:
        self.texts.append(text)
        self.setters.append(setter)

    def apply(self, texts: list[str]) -> None:
        for setter, old, new in zip(self.setters, self.texts, texts, strict=True):
            if new != old:
                setter(new)


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _setter(obj: Any, name: str) -> Setter:
    def set_value(value: str) -> None:
        if isinstance(obj, dict):
            obj[name] = value
        else:
            setattr(obj, name, value)

    return set_value


def _list_setter(items: list[Any], index: int) -> Setter:
    def set_value(value: str) -> None:
        items[index] = value

    return set_value


def _content_slots(holder: Any, slots: Slots) -> None:
    """The text of ``holder.content``: a string or a list of text parts."""
    content = _get(holder, "content")
    if isinstance(content, str):
        slots.add(content, _setter(holder, "content"))
    elif isinstance(content, list):
        for part in content:
            text = _get(part, "text")
            if isinstance(text, str) and _get(part, "type") in (
                None,
                "text",
                "input_text",
                "output_text",
            ):
                slots.add(text, _setter(part, "text"))


def _is_messages(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, Mapping) or hasattr(m, "content") for m in value)
    )


def _copy_messages(messages: list[Any]) -> list[Any]:
    copied = []
    for message in messages:
        new = copy.copy(message)
        content = _get(new, "content")
        if isinstance(content, list):
            parts = [copy.copy(p) for p in content]
            if isinstance(new, dict):
                new["content"] = parts
            else:
                try:
                    new.content = parts
                except Exception:
                    pass
        copied.append(new)
    return copied


def input_slots(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[Slots, Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]]:
    """Text slots of a call's arguments and a function returning the (copied) new arguments."""
    slots = Slots()
    try:
        bound = inspect.signature(func).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return slots, lambda: (args, dict(kwargs))
    arguments = bound.arguments
    for name, value in list(arguments.items()):
        if isinstance(value, str):
            slots.add(value, _argument_setter(arguments, name))
        elif _is_messages(value):
            arguments[name] = messages = _copy_messages(value)
            for message in messages:
                _content_slots(message, slots)
    return slots, lambda: (tuple(bound.args), dict(bound.kwargs))


def _argument_setter(arguments: dict[str, Any], name: str) -> Setter:
    def set_value(value: str) -> None:
        arguments[name] = value

    return set_value


class _Box:
    def __init__(self, value: Any) -> None:
        self.value = value


def output_slots(result: Any) -> tuple[Slots, Callable[[], Any]]:
    """Text slots of a returned value and a function returning the (updated) value."""
    slots = Slots()
    box = _Box(result)
    if isinstance(result, str):
        slots.add(result, lambda value: setattr(box, "value", value))
    elif isinstance(result, list) and all(isinstance(x, str) for x in result):
        for index, text in enumerate(result):
            slots.add(text, _list_setter(result, index))
    else:
        choices = _get(result, "choices")
        if isinstance(choices, list) and choices:
            for choice in choices:
                message = _get(choice, "message")
                if message is not None:
                    _content_slots(message, slots)
        elif result is not None and not isinstance(result, int | float | bool | bytes):
            _content_slots(result, slots)
    return slots, lambda: box.value

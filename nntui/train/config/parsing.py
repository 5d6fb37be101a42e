"""Reading values typed as text by a person (CLI flags, the app's inputs) into checked configuration values."""

from __future__ import annotations

import math
from typing import Any

from nntui.train.config.rules import ConfigError
from nntui.train.config.schema import SECTIONS, field_rule, validate_field


def parse_number(field: str, text: str, kind: type = float) -> int | float:
    """Read a number typed by a person ("0.01", "1e-3", "32") for the dotted field; kind is float or int.

    Only the reading is checked here (and that the number is finite); bounds are validate_field's job.
    """
    text = text.strip()
    if not text:
        raise ConfigError(f"{field} needs a number, got nothing", field)
    if kind is int:
        try:
            return int(text)
        except ValueError:
            pass  # maybe "32.0" or "1e3": whole numbers written as floats
    wanted = "a whole number" if kind is int else "a number"
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{field} must be {wanted}, got {text!r}", field) from None
    if not math.isfinite(number):
        raise ConfigError(f"{field} must be a finite number, got {text!r}", field)
    if kind is int:
        if not number.is_integer():
            raise ConfigError(f"{field} must be a whole number, got {text!r}", field)
        return int(number)
    return number


def parse_hidden(text: str) -> list[int]:
    """Read hidden layer widths from a flag like "--hidden 64,32"; "" or "none" means no hidden layer."""
    cleaned = text.strip().strip("[]").strip()
    if cleaned.lower() in ("", "none"):
        return []
    widths = []
    for i, part in enumerate(cleaned.split(",")):
        part = part.strip()
        if not part:
            raise ConfigError(
                f"model.hidden has an empty entry in {text!r}; write widths like 64,32", "model.hidden"
            )
        try:
            widths.append(int(part))
        except ValueError:
            raise ConfigError(
                f"model.hidden[{i}] must be a whole number, got {part!r}; write widths like 64,32",
                "model.hidden",
            ) from None
    return validate_field("model.hidden", widths)


def parse_field(dotted: str, text: str) -> Any:
    """Read and validate a value typed as text for any field ("optimizer.lr", "0.1"), e.g. a CLI override.

    Numbers, true/false, comma-separated lists for model.hidden and model.activations, plain text otherwise.
    """
    rule = field_rule(dotted)
    if dotted == "model.hidden":
        return parse_hidden(text)
    if dotted == "model.activations":
        names = (
            [] if text.strip().lower() in ("", "none") else [n.strip() for n in text.strip("[] ").split(",")]
        )
        return rule(dotted, names)
    default = "" if dotted == "model.activation" else _default_value(dotted)
    if isinstance(default, bool):
        word = text.strip().lower()
        if word not in ("true", "false"):
            raise ConfigError(f"{dotted} must be true or false, got {text!r}", dotted)
        return word == "true"
    if isinstance(default, (int, float)):
        return rule(dotted, parse_number(dotted, text, type(default)))
    return rule(dotted, text.strip())


def _default_value(dotted: str) -> Any:
    section, name = dotted.split(".")
    return getattr(SECTIONS[section](), name)


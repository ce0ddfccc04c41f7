"""Which form field a domain error concerns, so a page can show the message beside that field.

Domain errors carry a stable `code` and a message for people, but not the form field: forms
name their fields differently from the API. Each view says which codes belong to which of
its fields; an error that fits no field stays in the summary at the top of the form only.
Used by the public notice form, the portal's forms and the console's decision form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hostguard.errors import HostguardError


@dataclass
class FormError:
    message: str
    fields: dict[str, str] = field(default_factory=dict)  # field name -> what is wrong with it
    other: str = ""  # the part of the message no field took; shown in the summary

    def __str__(self) -> str:
        return self.message


def form_error(
    exc: HostguardError,
    *,
    codes: Mapping[str, str] = {},
    phrases: Sequence[tuple[str, str]] = (),
    too_large: str | None = None,
) -> FormError:
    """The error's message and the fields it concerns.

    `exc.details["field"]` (set by a view's own checks) wins; then `codes` (error code -> field);
    `too_large` names the field a TooLarge error is about (the view knows which value was too long);
    `phrases` splits a message made of "; "-joined parts and gives each part to the field its
    opening words name (for the KYU form, whose one error lists every bad field).
    """
    message = exc.message
    named = exc.details.get("field") if isinstance(exc.details, dict) else None
    if named:
        return FormError(message, {named: message})
    if exc.code in codes:
        return FormError(message, {codes[exc.code]: message})
    if exc.code == "too_large" and too_large:
        return FormError(message, {too_large: message})
    if not phrases:
        return FormError(message, {}, message)
    fields: dict[str, str] = {}
    other: list[str] = []
    for part in message.split("; ") if phrases else [message]:
        name = next((name for opening, name in phrases if part.startswith(opening)), None)
        if name is None:
            other.append(part)
        else:
            fields[name] = f"{fields[name]}; {part}" if name in fields else part
    return FormError(message, fields, "; ".join(other))

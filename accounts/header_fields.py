"""Header-bound fields refuse control characters, in forms and in model validation.

`validate_header_text` is the validator (mailcore.header_text does the looking: CR, LF
and other C0/C1 controls, also inside RFC 2047 encoded words at any depth).
`HeaderTextFieldsMixin` puts it into a model's `clean_fields` for the fields it names,
so ModelForms, the admin and management commands that call `full_clean` all refuse such
values with a field error (and without a migration: field validators would need one).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mailcore.header_text import hides_or_holds_controls

MESSAGE = _("This cannot contain line breaks or other control characters.")


def validate_header_text(value: str | None) -> None:
    if value and hides_or_holds_controls(str(value)):
        raise ValidationError(MESSAGE, code="control_characters")


class HeaderTextFieldsMixin:
    """For models: `header_text_fields` are validated with `validate_header_text`."""

    header_text_fields: tuple[str, ...] = ()

    def clean_fields(self, exclude=None):
        errors: dict = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for name in self.header_text_fields:
            if (exclude and name in exclude) or name in errors:
                continue
            try:
                validate_header_text(getattr(self, name))
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.error_list)
        if errors:
            raise ValidationError(errors)

"""Design-system helpers shared by every template: icons from the vendored sprite."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def icon(name: str, extra_class: str = "") -> str:
    """An icon from static/icons/sprite.svg; decorative, so hidden from assistive tech.

    The control around it carries the accessible name (visible text or aria-label).
    """
    return format_html(
        '<svg class="icon {}" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>',
        extra_class,
        static("icons/sprite.svg"),
        name,
    )

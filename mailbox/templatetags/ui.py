"""Design-system helpers shared by every template: icons from the vendored sprite."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


def sprite_url(context) -> str:
    """The sprite's URL (hashed in production), looked up once per request: a list
    page draws about 250 icons, and each `static()` call costs ~12 µs."""
    request = getattr(context, "request", None)
    if request is None:
        return static("icons/sprite.svg")
    if not hasattr(request, "_icon_sprite_url"):
        request._icon_sprite_url = static("icons/sprite.svg")
    return request._icon_sprite_url


# Each (icon, class, sprite URL) drawn once per process: the names and classes are
# literals in our templates, so the table stays as small as the sprite.
_ICONS: dict[tuple[str, str, str], str] = {}


def icon_svg(name: str, extra_class: str = "", *, sprite: str) -> str:
    """The `<svg>` of one icon of the sprite at URL `sprite`."""
    key = (name, extra_class, sprite)
    svg = _ICONS.get(key)
    if svg is None:
        svg = _ICONS[key] = format_html(
            '<svg class="icon {}" aria-hidden="true" focusable="false">'
            '<use href="{}#{}"></use></svg>',
            extra_class,
            sprite,
            name,
        )
    return svg


@register.simple_tag(takes_context=True)
def icon(context, name: str, extra_class: str = "") -> str:
    """An icon from static/icons/sprite.svg; decorative, so hidden from assistive tech.

    The control around it carries the accessible name (visible text or aria-label).
    """
    return icon_svg(name, extra_class, sprite=sprite_url(context))

"""Form markup shared by every portal form (templates/includes/field.html and error_summary.html).

A field's input names its help text and its errors (`aria-describedby`) and says when it is invalid
(`aria-invalid`); the error summary at the top of a form links to each field that needs correcting.
Ids follow Django's own: `<id>_helptext` and `<id>_error`."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


def _described_by(*ids: str) -> str:
    return " ".join(i for i in ids if i)


@register.simple_tag
def widget(field, help=False):
    """The field's input, with `aria-describedby` naming its help text (when `help`) and its errors, and
    `aria-invalid` while it has errors."""
    attrs = {}
    errors = f"{field.auto_id}_error" if field.errors else ""
    described = _described_by(f"{field.auto_id}_helptext" if help else "", errors)
    if described:
        attrs["aria-describedby"] = described
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)


@register.simple_tag
def input_attrs(input_id: str, errors=None, help=False):
    """The same attributes for an input a template writes by hand (one without a form field): ids of its
    help text (when `help`) and of its errors, and `aria-invalid` while it has errors."""
    described = _described_by(f"{input_id}_helptext" if help else "", f"{input_id}_error" if errors else "")
    return format_html(
        "{}{}",
        format_html(' aria-describedby="{}"', described) if described else "",
        mark_safe(' aria-invalid="true"') if errors else "",
    )


@register.filter
def anchor(field) -> str:
    """The id of the input a link to this field focuses: the first one of a group of radios or boxes."""
    if field.field.widget.use_fieldset and getattr(field.field.widget, "input_type", "") in ("radio", "checkbox"):
        return f"{field.auto_id}_0"
    return field.id_for_label or field.auto_id


@register.simple_tag
def form_problems(form=None, more=None) -> list[dict]:
    """What the error summary lists: each error of each visible field of `form` (its anchor, its label,
    the message), then `more`, the same for inputs a view checks beyond its form."""
    problems = []
    if hasattr(form, "visible_fields"):  # a page without a form passes none
        for field in form.visible_fields():
            problems += [{"id": anchor(field), "label": field.label, "message": error} for error in field.errors]
    return problems + list(more or [])

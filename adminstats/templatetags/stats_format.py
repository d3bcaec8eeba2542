from django import template

from chat_project.timefmt import duration

register = template.Library()


register.filter("duration", duration)  # chat_project.timefmt: one definition


@register.filter
def percent(share: float | None) -> str:
    """A share 0..1 as a whole percentage; "—" when there is nothing to divide by."""
    return "—" if share is None else f"{round(share * 100)}%"

from django import template

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as a short human duration: 45 s, 12 min 5 s, 3 h 07 min, 2 d 4 h."""
    if seconds is None:
        return "—"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"

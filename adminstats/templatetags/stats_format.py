from django import template

from chat_project.timefmt import duration

register = template.Library()


register.filter("duration", duration)  # chat_project.timefmt: one definition

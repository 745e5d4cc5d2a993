"""Filters the calendar templates display values with."""

from __future__ import annotations

from django import template
from django.conf import settings

from calendars.models import Calendar
from calendars.views import calendar_color

register = template.Library()


@register.filter
def color_of(calendar: Calendar) -> str:
    """The calendar's colour, safe to put in a style attribute."""
    return calendar_color(calendar)


@register.simple_tag
def signup_open() -> bool:
    return bool(settings.ALLOW_SIGNUP)

"""Forms of the pages: the time zone setting and sign-up."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from django import forms
from django.contrib.auth.forms import UserCreationForm

from calendars.models import UserProfile

__all__ = ["SignupForm", "TimeZoneForm", "time_zone_choices"]


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    names = sorted(available_timezones() - {"localtime"})
    return [(name, name.replace("_", " ")) for name in names]


class TimeZoneForm(forms.ModelForm):
    """The zone every time on the pages is shown in."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        error_messages={
            "invalid_choice": "Choose a time zone from the list, like Europe/Berlin."
        },
    )

    class Meta:
        model = UserProfile
        fields = ["time_zone"]


class SignupForm(UserCreationForm):
    """A username and a password twice, checked by the password validators."""

"""The pages people use."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.shortcuts import render

from calendars.models import Calendar, GoogleAccount
from chronos.types import AuthenticatedRequest


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    calendars = Calendar.objects.select_related("sync_state").annotate(
        event_count=Count("events")
    )
    accounts = (
        GoogleAccount.objects.filter(owner=request.user)
        .prefetch_related(Prefetch("calendars", queryset=calendars))
        .order_by("email")
    )
    return render(request, "calendars/home.html", {"accounts": accounts})

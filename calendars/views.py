"""The pages people use."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from calendars.models import GoogleAccount
from chronos.types import AuthenticatedRequest


@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    accounts = (
        GoogleAccount.objects.filter(owner=request.user)
        .prefetch_related("calendars__sync_state")
        .order_by("email")
    )
    return render(request, "calendars/home.html", {"accounts": accounts})

"""Types shared across the apps."""

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedRequest(HttpRequest):
    """A request that passed ``login_required``: its user is a real User."""

    user: User

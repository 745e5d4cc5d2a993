"""Chronos: keeps Google Calendars in sync in real time."""

from chronos.celery import app as celery_app

__all__ = ["celery_app"]

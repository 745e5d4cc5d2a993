"""The Celery application shared by workers and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chronos.settings")

app = Celery("chronos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""ASGI entry point, served by daphne."""

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chronos.settings")

# The handful of static files (CSS, htmx) are served by the app itself, so
# neither the demo nor compose needs a separate file server.
application = ASGIStaticFilesHandler(get_asgi_application())

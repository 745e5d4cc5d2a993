FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY chronos ./chronos
COPY calendars ./calendars
COPY syncengine ./syncengine
COPY webhooks ./webhooks
COPY emulator ./emulator
RUN pip install .
COPY . .

RUN useradd --create-home chronos
USER chronos

EXPOSE 8000
CMD ["uvicorn", "chronos.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--lifespan", "off", "--no-access-log", "--timeout-graceful-shutdown", "10"]

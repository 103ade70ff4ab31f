# Partner CRM: one image for web (gunicorn), worker and beat.
FROM python:3.11-slim AS base
# production unless told otherwise: no dev outbox, secure cookies, required secrets checked
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CRM_INSTANCE_PATH=/var/lib/crm CRM_CONFIG=production
WORKDIR /app
RUN useradd --system --create-home --home-dir /var/lib/crm crm
COPY pyproject.toml README.md ./
COPY crm ./crm
COPY tasks ./tasks
COPY config ./config
RUN pip install .
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
USER crm
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-", "crm:create_app()"]

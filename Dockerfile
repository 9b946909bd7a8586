# One image for web, worker, beat, migrate and devmail (see docker-compose.yml).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /venv && /venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
COPY --from=build /venv /venv
WORKDIR /app
COPY manage.py ./
COPY webmail ./webmail
COPY accounts ./accounts
COPY mailbox ./mailbox
COPY mailcore ./mailcore
COPY devmail ./devmail
COPY templates ./templates
COPY static ./static
RUN useradd --system --uid 10001 --home /app webmail \
    && mkdir -p /data/media /data/static \
    && chown -R webmail /data
USER webmail
EXPOSE 8000
CMD ["gunicorn", "webmail.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt gunicorn==23.0.0
COPY . .
RUN useradd --system --home /app webmail && mkdir -p /data && chown webmail /data
USER webmail
EXPOSE 8000
CMD ["gunicorn", "webmail.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]

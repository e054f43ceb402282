# One image for web, worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FINOPS_VAR_DIR=/var/lib/finops
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt \
 && useradd --system --home /app finops \
 && mkdir -p /var/lib/finops && chown finops /var/lib/finops
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0
USER finops
EXPOSE 8000
CMD ["gunicorn", "finops.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

# Production image: gunicorn (web), celery worker and celery beat all run from it (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var

WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Translations compiled and static files collected into the image (whitenoise serves them); the key
# is a throwaway for these build steps only, never used at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && SECRET_KEY=build-only-key python manage.py compilemessages --ignore=var --verbosity 0 \
    && apt-get purge -y gettext && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && SECRET_KEY=build-only-key python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin aftersales \
    && mkdir -p /app/var/beat /app/var/files \
    && chown -R aftersales:aftersales /app/var

USER aftersales

EXPOSE 8000
CMD ["gunicorn", "aftersales.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

# One image for every service and the gateway; the command picks which (docker-compose.yml, k8s/).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 HOTLINE_ENV=production \
    PYTHONPATH=/app
WORKDIR /app
# the bulletin's PDF (WeasyPrint): pango, harfbuzz and CJK fonts
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY pyproject.toml ./
COPY libs ./libs
COPY services ./services
COPY gateway ./gateway
COPY tools ./tools
COPY config ./config
RUN pip install --no-deps . && useradd --uid 10001 --no-create-home hotline
USER 10001
EXPOSE 8000 8080
CMD ["gunicorn", "-c", "gateway/gunicorn.conf.py", "gateway.app:get_app()"]

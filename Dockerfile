# exchbot in a container: the database lives on the /data volume, so it survives restarts and
# image upgrades. Build: docker build -t exchbot .   Run: see compose.yaml and README "Deploying".
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    EXCHBOT_DB=/data/exchbot.db

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin exchbot \
    && mkdir -p /data && chown exchbot:exchbot /data
USER exchbot
WORKDIR /data
VOLUME /data

# Exit 0 only when the database exists and can be written (see `exchbot status --help`).
HEALTHCHECK --interval=60s --timeout=15s --start-period=30s --retries=3 CMD ["exchbot", "status"]

ENTRYPOINT ["exchbot"]
CMD ["serve"]

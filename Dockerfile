# syntax=docker/dockerfile:1
# Two stages: the builder compiles wheels (mysqlclient needs the client headers) and regenerates
# the protobuf code from protos/; the runtime stage holds only Python, the wheels and libmariadb.

FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config libmariadb-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protos protos
COPY service service
COPY storage storage
COPY tools tools
# Regenerate service/_gen from the protos with the pinned toolchain (tools/ is build-only: the wheel
# packages service and storage), then build every wheel.
RUN pip install --no-cache-dir "grpcio-tools==1.85.1" "googleapis-common-protos>=1.76,<2" "protovalidate==2.1.*" \
 && python -m tools.codegen \
 && pip wheel --no-cache-dir --wheel-dir /wheels ".[mysql]"

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin orders
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /tmp
ENV PYTHONUNBUFFERED=1
EXPOSE 50051 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["erp-orders", "health"]
ENTRYPOINT ["erp-orders"]
CMD ["serve"]

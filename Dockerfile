# The production image (docker-compose.yml): the ehub command and its runtime libraries only.
# Stage 1 builds wheels; stage 2 installs them into a clean slim image, so neither the source
# tree, pip's build dependencies nor the dev/demo/terminal extras (pyproject.toml) reach it.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY gateway ./gateway
COPY hub ./hub
COPY device_drivers ./device_drivers
COPY ehub ./ehub
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# WeasyPrint's system libraries and a CJK font: the hub renders case documents as A4 PDF with
# the font embedded (hub/documents/pdf.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels enforcement-hub \
    && rm -rf /wheels
USER nobody
ENTRYPOINT []
CMD ["ehub", "--help"]

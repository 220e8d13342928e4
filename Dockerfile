FROM python:3.11-slim
# WeasyPrint's system libraries and a CJK font: the hub renders case documents as A4 PDF with
# the font embedded (hub/documents/pdf.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY gateway ./gateway
COPY hub ./hub
COPY device_drivers ./device_drivers
COPY ehub ./ehub
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT []
CMD ["ehub", "--help"]

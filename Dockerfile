FROM python:3.11-slim
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

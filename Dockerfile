# The one image of every publisher service (web, worker, beat, migrate).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY publisher ./publisher
COPY templates ./templates
COPY examples ./examples
RUN pip install . && useradd --system --home /app publisher && mkdir -p feeds var \
    && chown -R publisher /app/feeds /app/var
USER publisher
EXPOSE 8000
ENTRYPOINT ["publisher"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

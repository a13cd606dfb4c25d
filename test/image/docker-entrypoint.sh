#!/bin/sh
# The entrypoint of the official node images (nodejs/docker-node), kept in the locally made base so that
# the image's `ENTRYPOINT []` is tested for real: run the command with node when the first argument is a
# flag or not a command.
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"

#!/usr/bin/env bash
# Fails when dist/, action.yml, the generated specs or the README tables are stale: rebuilds them all and
# compares with what is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
if ! git diff --exit-code --stat -- dist action.yml src/commands/specs.generated.ts README.md actions; then
  echo "check-dist: the files above are stale. Run 'npm run build' and commit the result." >&2
  exit 1
fi
untracked=$(git ls-files --others --exclude-standard -- dist)
if [ -n "$untracked" ]; then
  echo "check-dist: dist/ has files that are not committed:" >&2
  echo "$untracked" >&2
  exit 1
fi
echo "check-dist: dist/ and the generated docs are up to date."

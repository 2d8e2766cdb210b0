#!/usr/bin/env bash
# Installs the real agent CLIs that npm carries (Claude Code, Codex, OpenCode)
# into .cache/real-clis, so tests can check the argv our adapters build against
# each CLI's own argument parser. Idempotent: does nothing when the pinned
# versions are already there. Install scripts are skipped (the binaries ship
# inside the registry packages and run without them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/real-clis"
want="@anthropic-ai/claude-code@2.1.197 @openai/codex@0.169.0 opencode-ai@1.18.33"
if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$want" ]; then
  exit 0
fi
echo "installing real agent CLIs for argv checks into $dir (once)..." >&2
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name":"real-clis","private":true}' > "$dir/package.json"
# shellcheck disable=SC2086
npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --loglevel=error $want >&2
echo "$want" > "$dir/.installed"

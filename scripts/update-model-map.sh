#!/usr/bin/env bash
# update-model-map.sh — refresh data/litellm/model_map.json, the snapshot of LiteLLM's model map
# (prices, context windows, retirement dates) that aiorch embeds at build time.
#
# Usage:  scripts/update-model-map.sh [SOURCE]
#   SOURCE  a LiteLLM install (a venv, a site-packages dir or the `litellm` package dir), a
#           model_prices_and_context_window*.json file, or an http(s) URL of one.
#           Default: the `litellm` on PATH (its venv), else LiteLLM's map on GitHub.
#
# Kept: chat models of the providers aiorch calls directly (anthropic, openai, gemini), and of
# each only the fields aiorch reads. The whole map (~4,200 entries, 3 MB) would add ~0.6 MB to
# the binary and ~2 ms to every runtime start for entries no code path uses. Entries keep
# LiteLLM's field names, so `aiorch models update --from` reads LiteLLM's file and this one alike.
# Needs python3 (standard library only). LiteLLM is MIT licensed: data/litellm/LICENSE.
set -euo pipefail
cd "$(dirname "$0")/.."
URL=https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json
src="${1:-}"
if [[ -z "$src" ]] && command -v litellm >/dev/null; then
  src="$(dirname "$(dirname "$(readlink -f "$(command -v litellm)")")")"
fi
src="${src:-$URL}"

version="" tmp=""
trap '[[ -n "$tmp" ]] && rm -f "$tmp"' EXIT
case "$src" in
  http://* | https://*)
    tmp="$(mktemp)"
    curl -fsSL --max-time 120 "$src" -o "$tmp"
    json="$tmp" ;;
  *)
    if [[ -f "$src" ]]; then
      json="$src"
    else
      json="$(find "$src" -path '*litellm/model_prices_and_context_window_backup.json' 2>/dev/null | head -1)"
      [[ -n "$json" ]] || { echo "no litellm/model_prices_and_context_window_backup.json under $src" >&2; exit 2; }
      dist="$(find "$(dirname "$(dirname "$json")")" -maxdepth 1 -name 'litellm-*.dist-info' | head -1)"
      [[ -n "$dist" ]] && version="$(basename "$dist" .dist-info)" && version="${version#litellm-}"
      lic="$dist/licenses/LICENSE"
      [[ -f "$lic" ]] && cp "$lic" data/litellm/LICENSE
    fi ;;
esac

python3 - "$json" "$version" "$src" data/litellm/model_map.json <<'PY'
import datetime, json, os, sys
path, version, src, out = sys.argv[1:5]
src = os.path.basename(path) if not src.startswith("http") else src
data = json.load(open(path, encoding="utf-8"))
providers = {"anthropic", "openai", "gemini"}
fields = ["litellm_provider", "mode", "input_cost_per_token", "output_cost_per_token",
          "max_input_tokens", "max_output_tokens", "deprecation_date"]
models = {}
for key, v in data.items():
    if not isinstance(v, dict) or v.get("mode") != "chat" or v.get("litellm_provider") not in providers:
        continue
    models[key] = {f: v[f] for f in fields if f in v}
meta = {
    "source": "LiteLLM model map (MIT, see LICENSE next to this file)",
    "litellm_version": version or None,
    "from": src,
    "date": os.environ.get("SNAPSHOT_DATE") or datetime.date.today().isoformat(),
    "subset": "chat models of anthropic, openai, gemini; fields: " + ", ".join(fields),
}
doc = {"_aiorch": meta}
doc.update(sorted(models.items()))
with open(out + ".tmp", "w", encoding="utf-8") as f:
    json.dump(doc, f, indent=1, ensure_ascii=False)
    f.write("\n")
os.replace(out + ".tmp", out)
print(f"{out}: {len(models)} models from {src} (litellm {version or 'unknown version'})", file=sys.stderr)
PY

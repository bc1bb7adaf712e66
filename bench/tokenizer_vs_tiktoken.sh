#!/usr/bin/env bash
# Tokenizer throughput against tiktoken (npm) on the same bytes, in the same run.
#   bench/tokenizer_vs_tiktoken.sh [BUILD_DIR]      (default: build)
# Needs: ninja -C BUILD_DIR bench_tokenizer, and npm ci --prefix bench/tiktoken.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
[[ "$build" = /* ]] || build="$root/$build"
bench="$build/bench/bench_tokenizer"
[[ -x "$bench" ]] || { echo "missing $bench: ninja -C $build bench_tokenizer" >&2; exit 1; }
[[ -d "$root/bench/tiktoken/node_modules/tiktoken" ]] || {
  echo "missing tiktoken: npm ci --prefix $root/bench/tiktoken" >&2; exit 1; }

corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
"$bench" --write-corpus="$corpus" --benchmark_filter='BM_Count/' --benchmark_format=json \
  --benchmark_min_time=1 >"$corpus/cpp.json"
node "$root/bench/tiktoken/bench.mjs" "$corpus/english_prose.txt" "$corpus/prompt_lines.txt" >"$corpus/node.jsonl"

node - "$corpus/cpp.json" "$corpus/node.jsonl" <<'JS'
const fs = require("fs");
const [cppFile, nodeFile] = process.argv.slice(2);
const corpora = ["english_prose.txt", "prompt_lines.txt"], encodings = ["cl100k_base", "o200k_base"];
const cpp = {};
for (const b of JSON.parse(fs.readFileSync(cppFile, "utf8")).benchmarks) {
  const m = b.name.match(/corpus:(\d)\/enc:(\d)/);
  cpp[`${corpora[+m[1]]} ${encodings[+m[2]]}`] = b["MB/s"] / 1e0;
}
console.log("corpus              encoding      sigflow MB/s  tiktoken MB/s  ratio");
for (const line of fs.readFileSync(nodeFile, "utf8").trim().split("\n")) {
  const r = JSON.parse(line), key = `${r.corpus} ${r.encoding}`, ours = cpp[key];
  console.log(`${r.corpus.padEnd(20)}${r.encoding.padEnd(14)}${ours.toFixed(1).padStart(12)}` +
              `${r.mb_per_s.toFixed(1).padStart(15)}${(ours / r.mb_per_s).toFixed(1).padStart(7)}x`);
}
JS

// Baseline for bench/tokenizer_bench.cpp: tiktoken's (npm, WASM build of OpenAI's Rust tiktoken) throughput on
// the same bytes. bench/tokenizer_vs_tiktoken.sh runs both and prints the ratio.
//
// usage: node bench.mjs <corpus-file>...
// prints one JSON line per corpus and encoding: {"corpus", "encoding", "bytes", "tokens", "mb_per_s"}, where
// MB is 10^6 bytes of UTF-8 input and the time covers encode_ordinary() only (after one warm-up call), averaged
// over as many calls as fit in about a second.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { get_encoding } from "tiktoken";

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: node bench.mjs <corpus-file>...\n");
  process.exit(2);
}

for (const file of files) {
  const text = readFileSync(file, "utf8");
  const bytes = Buffer.byteLength(text, "utf8");
  for (const name of ["cl100k_base", "o200k_base"]) {
    const encoding = get_encoding(name);
    const tokens = encoding.encode_ordinary(text).length;  // warm-up
    let calls = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (calls < 3 || elapsed < 1.0) {
      encoding.encode_ordinary(text);
      ++calls;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    }
    encoding.free();
    const mbPerS = (bytes * calls) / elapsed / 1e6;
    console.log(JSON.stringify({ corpus: basename(file), encoding: name, bytes, tokens, mb_per_s: +mbPerS.toFixed(3) }));
  }
}

// Reference token ids from the tiktoken npm package (the WASM build of OpenAI's Rust tiktoken), used by
// tests/strategies/tokenizer_test.cpp as the oracle for the differential test.
//
// usage: node encode.mjs <cl100k_base|o200k_base> <input.jsonl> <output.txt>
// input: one JSON string per line; output: one line per input line, the ids of encode_ordinary()
// separated by single spaces (an empty line for the empty string). encode_ordinary, not encode: user text
// must never produce special tokens, and encode() would throw on "<|endoftext|>" in the text.
import { readFileSync, writeFileSync } from "node:fs";
import { get_encoding } from "tiktoken";

const [encodingName, inputPath, outputPath] = process.argv.slice(2);
if (!encodingName || !inputPath || !outputPath) {
  process.stderr.write("usage: node encode.mjs <encoding> <input.jsonl> <output.txt>\n");
  process.exit(2);
}

const encoding = get_encoding(encodingName);
const lines = readFileSync(inputPath, "utf8").split("\n");
if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();

const out = [];
for (const line of lines) {
  out.push(Array.from(encoding.encode_ordinary(JSON.parse(line))).join(" "));
}
encoding.free();
writeFileSync(outputPath, out.join("\n") + "\n");

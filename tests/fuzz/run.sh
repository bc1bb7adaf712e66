#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, JOBS targets at a time (one per core), seeded
# from the project's real messages. Fails when any target reports a crash, leak or sanitizer finding; a
# crashing input is kept in tests/fuzz/crashes/.
set -euo pipefail
build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS] [JOBS]}
seconds=${2:-30}
jobs=${3:-1}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Seeds: one file per real frame/body, so the fuzzer starts from valid messages.
mkdir -p "$work/frames" "$work/config" "$work/text" "$work/upgrade" "$work/ws"
python3 - "$root" "$work" <<'PY'
import json, pathlib, sys
root, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = 0
for f in sorted((root / "tests/fixtures/binance").glob("*.json")):
    text = f.read_text()
    try:
        value = json.loads(text)
    except ValueError:
        continue
    items = value if isinstance(value, list) else [value]
    for item in items:
        (work / "frames" / f"{n}").write_text(json.dumps(item, separators=(",", ":"))); n += 1
for i, line in enumerate((root / "tests/fixtures/captures/BINANCE_FUTURES.jsonl").read_text().splitlines()[:300]):
    record = json.loads(line)
    if record.get("t") == "recv":
        (work / "frames" / f"c{i}").write_text(record["data"])
# OKX: every fixture message (key order kept), and the non-JSON heartbeat answer.
(work / "okx").mkdir(exist_ok=True)
(work / "okx" / "pong").write_text("pong")
for f in sorted((root / "tests/fixtures/okx").glob("*.json")):
    value = json.loads(f.read_text(), object_pairs_hook=dict)
    for j, item in enumerate(value if isinstance(value, list) else [value]):
        (work / "okx" / f"{f.stem}-{j}").write_text(json.dumps(item, separators=(",", ":")))
# Bybit and Deribit: every fixture message and the received frames of their captures.
for venue, capture in (("bybit", "BYBIT"), ("deribit", "DERIBIT")):
    (work / venue).mkdir(exist_ok=True)
    for f in sorted((root / "tests/fixtures" / venue).glob("*.json")):
        value = json.loads(f.read_text(), object_pairs_hook=dict)
        for j, item in enumerate(value if isinstance(value, list) else [value]):
            (work / venue / f"{f.stem}-{j}").write_text(json.dumps(item, separators=(",", ":")))
    for i, line in enumerate((root / f"tests/fixtures/captures/{capture}.jsonl").read_text().splitlines()[:300]):
        record = json.loads(line)
        if record.get("t") == "recv":
            (work / venue / f"c{i}").write_text(record["data"])
# Capture reader: the first records of each capture, as files of JSON lines.
(work / "capture").mkdir(exist_ok=True)
for f in sorted((root / "tests/fixtures/captures").glob("*.jsonl")):
    (work / "capture" / f.stem).write_text("\n".join(f.read_text().splitlines()[:40]) + "\n")
# HTTP responses: a leading mode byte (buffered/streaming), then the response bytes.
(work / "http").mkdir(exist_ok=True)
(work / "http" / "chunked").write_bytes(b"\x00HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
(work / "http" / "sse").write_bytes(b"\x01HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 14\r\n\r\ndata: [DONE]\n\n")
(work / "http" / "429").write_bytes(b"\x00HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nX-MBX-USED-WEIGHT-1M: 2401\r\nContent-Length: 2\r\n\r\n{}")
for i, f in enumerate(sorted((root / "configs").glob("*.toml"))):
    (work / "config" / f"{i}").write_text(f.read_text())
(work / "text" / "0").write_text("BTCUSDT@binance-usdm mid=67012.1 spr=0.15 imb=+0.42/+0.30/-0.05 \u3000 \U0001f600 don't")
(work / "upgrade" / "0").write_text("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 20\r\n\r\n{\"code\":-1003,\"m\":1}")
(work / "ws" / "0").write_bytes(b"\x81\x05hello\x89\x02hi\x01\x03abc\x80\x02de\x88\x02\x03\xe8")
# Inference: real streamed responses (SSE, with a leading piece-size byte), the bodies and error bodies of
# OpenAI and compatible servers (with a leading status byte), the data values of the streams as chunks, and
# replies in both formats the reply parser reads.
for d in ("sse", "chat", "reply", "retry", "metrics"):
    (work / d).mkdir(exist_ok=True)
openai = root / "tests/fixtures/openai"
for i, f in enumerate(sorted(openai.glob("*.sse")) + [openai / "spec_stream_chunks_example.txt"]):
    body = f.read_bytes()
    (work / "sse" / f.stem).write_bytes(bytes([7 + i]) + body)
    (work / "sse" / f"{f.stem}-crlf").write_bytes(b"\x00" + body.replace(b"\n", b"\r\n"))
    for j, line in enumerate(body.decode().splitlines()):
        if line.startswith("data: {"):
            (work / "chat" / f"{f.stem}-{j}").write_bytes(b"\x80" + line[6:].encode())
(work / "sse" / "fields").write_bytes(b"\x03: OPENROUTER PROCESSING\r\nevent: x\rid: 7\nretry: 1500\ndata: a\ndata:b\n\ndata: [DONE]")
for i, f in enumerate(sorted(openai.glob("*.json")) + sorted((root / "tests/fixtures/compat").glob("*.json"))):
    (work / "chat" / f.stem).write_bytes(bytes([i]) + f.read_bytes())
    value = json.loads(f.read_text())
    for choice in value.get("choices", []) if isinstance(value, dict) else []:
        content = (choice.get("message") or {}).get("content")
        if isinstance(content, str):
            (work / "reply" / f.stem).write_text(content)
(work / "reply" / "structured").write_text(
    '```json\n{"signals":[{"pair":"ETHUSDT@binance-usdm","signal":"SELL","confidence":0.61,"summary":"ask wall"},'
    '{"pair":"BTCUSDT@binance-usdm","signal":"BUY","confidence":1,"summary":"bid-heavy book \\u2191"},'
    '{"pair":"SOLUSDT@bybit-linear","signal":"HOLD","confidence":0.2,"summary":"stale"}]}\n```')
(work / "reply" / "lines").write_text(
    "Here are the signals:\n- **BTCUSDT@binance-usdm**: Buy | 0.72 | bid-heavy book\n"
    "2) `ETHUSDT@binance-usdm`: SELL | 1.7 | ask wall \u2193\n* SOLUSDT@bybit-linear: HOLD | x\nXRPUSDT@okx: BUY | 0.5\n")
# Retry headers: openai-python's retry-after vectors, Go durations as OpenAI sends them, Azure's integers;
# a NUL splits retry-after-ms from retry-after.
for i, line in enumerate((openai / "retry_after_vectors.txt").read_text().splitlines()):
    parts = line.split("|")
    if not line.startswith("#") and len(parts) == 3:
        (work / "retry" / f"v{i}").write_text(parts[1].strip().strip('"'))
for i, text in enumerate(["6m0s", "12ms", "26.604s", "1h2m3.5s", "-1.5\u00b5s", "55", "0", "250.5\x002"]):
    (work / "retry" / f"g{i}").write_text(text)
# Metrics endpoint: what scrapers send, pipelined, HEAD, a wrong method and a wrong path.
(work / "metrics" / "get").write_bytes(b"\x10GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: Prometheus/2.45.0\r\nAccept: text/plain;version=0.0.4\r\n\r\n")
(work / "metrics" / "pipelined").write_bytes(b"\x20GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nHEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.0\r\n\r\n")
(work / "metrics" / "post").write_bytes(b"\x05POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
PY

run() {
  local target=$1 corpus=$2
  mkdir -p "$work/out-$target" "$root/tests/fuzz/crashes"
  if "$build/tests/fuzz/$target" "$work/out-$target" "$corpus" -max_total_time="$seconds" -rss_limit_mb=4096 \
    -artifact_prefix="$root/tests/fuzz/crashes/$target-" -print_final_stats=1 >"$work/$target.log" 2>&1; then
    echo "fuzz: $target ${seconds}s: $(grep -E 'stat::number_of_executed_units' "$work/$target.log" | tail -1)"
  else
    tail -50 "$work/$target.log"
    echo "fuzz: $target FAILED" >&2
    return 1
  fi
}

targets=(
  "fuzz_binance_decoder $work/frames" "fuzz_okx_decoder $work/okx" "fuzz_bybit_decoder $work/bybit"
  "fuzz_deribit_decoder $work/deribit" "fuzz_capture $work/capture" "fuzz_http_response $work/http"
  "fuzz_websocket_client $work/ws" "fuzz_http_upgrade $work/upgrade" "fuzz_config $work/config"
  "fuzz_tokenizer $work/text" "fuzz_sse_parser $work/sse" "fuzz_chat_completion $work/chat"
  "fuzz_reply_parser $work/reply" "fuzz_retry_after $work/retry" "fuzz_metrics_request $work/metrics"
)
failed=0
for binary in "$build"/tests/fuzz/fuzz_*; do
  name=$(basename "$binary")
  if ! printf '%s\n' "${targets[@]}" | grep -q "^$name "; then
    echo "fuzz: $name has no seed corpus in tests/fuzz/run.sh" >&2
    failed=1
  fi
done
running=0
for entry in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
  # shellcheck disable=SC2086  # "target corpus", split on purpose
  run $entry &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
exit "$failed"

// libFuzzer: any bytes through the o200k_base and cl100k_base tokenizers. Valid UTF-8 must encode, and the
// ids must decode back to the input; invalid UTF-8 must be reported, never crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "strategies/tokenizer/tokenizer.hpp"

namespace {

using sigflow::strategies::Encoding;
using sigflow::strategies::Tokenizer;

std::shared_ptr<const Tokenizer> load(Encoding encoding) {
  std::string error;
  auto tokenizer = Tokenizer::load(encoding, std::string(SIGFLOW_SOURCE_DIR) + "/data/tokenizers", error);
  if (!tokenizer) {
    std::fprintf(stderr, "tokenizer_fuzz: %s\n", error.c_str());
    std::abort();
  }
  return tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto o200k = load(Encoding::kO200kBase);
  static const auto cl100k = load(Encoding::kCl100kBase);
  static sigflow::strategies::TokenizerScratch scratch;
  static std::vector<std::uint32_t> ids;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto* tokenizer : {o200k.get(), cl100k.get()}) {
    ids.clear();
    const auto result = tokenizer->encode(text, scratch, ids);
    if (!result.ok()) continue;
    std::string round_trip;
    for (const std::uint32_t id : ids) round_trip += tokenizer->token_bytes(id);
    if (round_trip != text) std::abort();  // BPE is lossless: the tokens spell the input
  }
  return 0;
}

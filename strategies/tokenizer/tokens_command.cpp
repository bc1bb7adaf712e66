#include "strategies/tokenizer/tokens_command.hpp"

#include <fstream>
#include <istream>
#include <iterator>
#include <ostream>
#include <vector>

#include "strategies/tokenizer/tokenizer.hpp"

namespace sigflow::strategies {

int run_tokens_command(const TokensCommand& command, std::istream& in, std::ostream& out, std::ostream& err) {
  const std::optional<Encoding> encoding = parse_encoding(command.encoding);
  if (!encoding) {
    err << "sigflow tokens: unknown encoding '" << command.encoding
        << "' (expected cl100k_base or o200k_base)\n";
    return 2;
  }

  std::string text;
  if (command.input == "-") {
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) {
      err << "sigflow tokens: error reading standard input\n";
      return 1;
    }
  } else {
    std::ifstream file(command.input, std::ios::binary);
    if (!file) {
      err << "sigflow tokens: cannot open " << command.input << "\n";
      return 1;
    }
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    if (file.bad()) {
      err << "sigflow tokens: error reading " << command.input << "\n";
      return 1;
    }
  }

  std::string error;
  const std::shared_ptr<const Tokenizer> tokenizer = Tokenizer::load(*encoding, command.data_dir, error);
  if (!tokenizer) {
    err << "sigflow tokens: " << error << "\n";
    return 1;
  }

  TokenizerScratch scratch;
  std::vector<std::uint32_t> ids;
  const TokenCount result =
      command.ids ? tokenizer->encode(text, scratch, ids) : tokenizer->count(text, scratch);
  if (!result.ok()) {
    err << "sigflow tokens: " << (command.input == "-" ? std::string("standard input") : command.input)
        << ": " << text_error_name(result.error) << " at byte " << result.error_offset << "\n";
    return 1;
  }
  if (command.ids) {
    for (std::size_t i = 0; i < ids.size(); ++i) out << (i == 0 ? "" : " ") << ids[i];
    out << "\n";
  } else {
    out << result.tokens << "\n";
  }
  return 0;
}

}  // namespace sigflow::strategies

#pragma once
// `sigflow tokens [--encoding cl100k_base|o200k_base] [--ids] [FILE|-]`: the exact token count of a text, as
// tiktoken gives it. The lead wires the options into CLI11; this is everything behind them.
#include <filesystem>
#include <iosfwd>
#include <string>

namespace sigflow::strategies {

struct TokensCommand {
  std::string encoding = "o200k_base";  // gpt-4o, gpt-4.1, gpt-5 and the o-series
  std::string input = "-";              // a file path, or "-" for the input stream
  bool ids = false;                     // print the token ids (space separated) instead of the count
  std::filesystem::path data_dir = "data/tokenizers";
};

// Exit status: 0 on success, 1 when the input or the rank file cannot be used (unreadable, invalid UTF-8,
// checksum mismatch), 2 for an unknown encoding. Errors go to `err` as one line; nothing goes to `out` then.
int run_tokens_command(const TokensCommand& command, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace sigflow::strategies

#include "strategies/tokenizer/rank_table.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <string>

namespace sigflow::strategies::detail {
namespace {

int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool decode_base64(std::string_view in, std::string& out) {
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = base64_value(static_cast<unsigned char>(in[i]));
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=') return false;
  }
  return !out.empty();
}

}  // namespace

bool parse_tiktoken_ranks(std::string_view file, std::string_view source, RankTable& table,
                          std::string& error) {
  std::string bytes;
  std::size_t line_no = 0;
  while (!file.empty()) {
    ++line_no;
    const std::size_t eol = file.find('\n');
    std::string_view line = file.substr(0, eol);
    file.remove_prefix(eol == std::string_view::npos ? file.size() : eol + 1);
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    std::uint32_t rank = 0;
    const std::string_view rank_text =
        space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    const auto [end, ec] = std::from_chars(rank_text.data(), rank_text.data() + rank_text.size(), rank);
    if (space == std::string_view::npos || ec != std::errc{} || end != rank_text.data() + rank_text.size() ||
        !decode_base64(line.substr(0, space), bytes)) {
      error = std::string(source) + ":" + std::to_string(line_no) + ": not a 'base64 rank' line";
      return false;
    }
    if (!table.add(bytes, rank)) {
      error = std::string(source) + ":" + std::to_string(line_no) + ": rank " + std::to_string(rank) +
              " appears twice";
      return false;
    }
  }
  if (!table.build()) {
    error = std::string(source) + ": the same token bytes appear under two ranks";
    return false;
  }
  if (!table.has_all_single_bytes()) {
    error = std::string(source) + ": not a byte-level vocabulary (some single bytes have no rank)";
    return false;
  }
  return true;
}

RankTable::RankTable() : pair_ranks_(1 << 16, kNoRank) {
  std::fill(std::begin(byte_ranks_), std::end(byte_ranks_), kNoRank);
}

bool RankTable::add(std::string_view bytes, std::uint32_t rank) {
  if (bytes.empty() || rank == kNoRank) return false;
  if (rank >= tokens_.size()) tokens_.resize(static_cast<std::size_t>(rank) + 1);
  if (tokens_[rank].size != 0) return false;
  tokens_[rank] = Token{static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(bytes.size())};
  arena_.insert(arena_.end(), bytes.begin(), bytes.end());
  ++count_;
  return true;
}

bool RankTable::build() {
  std::fill(std::begin(byte_ranks_), std::end(byte_ranks_), kNoRank);
  pair_ranks_.assign(1 << 16, kNoRank);
  std::size_t long_tokens = 0;
  for (const Token& t : tokens_) long_tokens += t.size > 2 ? 1 : 0;
  const std::size_t capacity = std::bit_ceil(std::max<std::size_t>(16, long_tokens * 2));
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (std::uint32_t rank = 0; rank < tokens_.size(); ++rank) {
    const Token& t = tokens_[rank];
    const auto* p = reinterpret_cast<const unsigned char*>(arena_.data() + t.offset);
    if (t.size == 0) continue;
    if (find(p, t.size) != kNoRank) return false;  // the same bytes under two ranks
    if (t.size == 1) {
      byte_ranks_[p[0]] = rank;
    } else if (t.size == 2) {
      pair_ranks_[static_cast<std::size_t>(p[0]) << 8 | p[1]] = rank;
    } else {
      const std::uint64_t prefix = load_prefix(p, t.size);
      std::size_t slot = hash(prefix, t.size) & mask_;
      while (slots_[slot].rank != kNoRank) slot = (slot + 1) & mask_;
      slots_[slot] = Slot{prefix, rank, t.size};
    }
  }
  return true;
}

bool RankTable::has_all_single_bytes() const {
  return std::none_of(std::begin(byte_ranks_), std::end(byte_ranks_),
                      [](std::uint32_t r) { return r == kNoRank; });
}

}  // namespace sigflow::strategies::detail

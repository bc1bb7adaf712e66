#include "tools/exchange-sim/venue.hpp"

#include <charconv>
#include <cstring>

namespace sigflow::tools {

std::size_t append_send_stamp_slot(std::string& out) {
  out.append(kSendStampKey);
  const std::size_t slot = out.size();
  out.append(kSendStampWidth, ' ');
  return slot;
}

void write_send_stamp(char* slot, std::int64_t mono_ns) {
  std::memset(slot, ' ', kSendStampWidth);
  std::to_chars(slot, slot + kSendStampWidth, mono_ns);
}

}  // namespace sigflow::tools

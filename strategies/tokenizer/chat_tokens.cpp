#include "strategies/tokenizer/chat_tokens.hpp"

#include <algorithm>
#include <cmath>

namespace sigflow::strategies {

TokenCount count_chat_tokens(const Tokenizer& tokenizer, TokenizerScratch& scratch,
                             std::span<const ChatMessage> messages, const ChatFraming& framing) {
  TokenCount total;
  std::size_t offset = 0;  // error offsets are reported as if the values were concatenated in order
  const auto add = [&](std::string_view value) {
    const TokenCount c = tokenizer.count(value, scratch);
    if (!c.ok()) {
      total.error = c.error;
      total.error_offset = offset + c.error_offset;
      return false;
    }
    total.tokens += c.tokens;
    offset += value.size();
    return true;
  };
  for (const ChatMessage& message : messages) {
    total.tokens += framing.per_message;
    if (!add(message.role) || !add(message.content)) return total;
    if (!message.name.empty()) {
      if (!add(message.name)) return total;
      total.tokens += framing.per_name;
    }
  }
  total.tokens += framing.reply_priming;
  return total;
}

void PromptTokenCorrection::observe(std::size_t estimated, std::size_t reported) {
  if (reported == 0) return;
  const double residual = static_cast<double>(reported) - static_cast<double>(estimated);
  residual_ = samples_ == 0 ? residual : residual_ + smoothing_ * (residual - residual_);
  ++samples_;
}

std::size_t PromptTokenCorrection::corrected(std::size_t estimated) const {
  const double value = std::ceil(static_cast<double>(estimated) + residual_);
  return value <= 0 ? 0 : static_cast<std::size_t>(value);
}

PromptTokenCorrection& PromptTokenCorrections::for_model(std::string_view model) {
  for (auto& [name, correction] : models_) {
    if (name == model) return correction;
  }
  return models_.emplace_back(std::string(model), PromptTokenCorrection{}).second;
}

const PromptTokenCorrection* PromptTokenCorrections::find(std::string_view model) const {
  for (const auto& [name, correction] : models_) {
    if (name == model) return &correction;
  }
  return nullptr;
}

}  // namespace sigflow::strategies

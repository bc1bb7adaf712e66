#pragma once
// Chat accounting: what a /chat/completions request's messages cost in prompt tokens, and a per-model
// correction learned from the usage.prompt_tokens that replies report.
//
// The rule is the OpenAI Cookbook's (How_to_count_tokens_with_tiktoken.ipynb): every message costs 3 tokens
// of framing (<|start|>{role}<|message|> ... <|end|>) plus its values, a name costs 1 more, and every reply
// is primed with 3 (<|start|>assistant<|message|>). The cookbook checked it against the API for
// gpt-3.5-turbo, gpt-4, gpt-4o and gpt-4o-mini. What a response_format schema or a provider's own template
// adds is not documented; PromptTokenCorrection learns it from the replies.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strategies/tokenizer/tokenizer.hpp"

namespace sigflow::strategies {

struct ChatMessage {
  std::string_view role;
  std::string_view content;
  std::string_view name;  // empty: no name field
};

struct ChatFraming {
  std::size_t per_message = 3;
  std::size_t per_name = 1;
  std::size_t reply_priming = 3;
};

TokenCount count_chat_tokens(const Tokenizer& tokenizer, TokenizerScratch& scratch,
                             std::span<const ChatMessage> messages, const ChatFraming& framing = {});

// The difference between what a model's replies report and what we counted, smoothed over replies. The first
// reply sets it; later ones move it by `smoothing` of their residual, so one odd reply (a provider-side
// retry, a cached prefix) cannot swing the budget.
class PromptTokenCorrection {
 public:
  explicit PromptTokenCorrection(double smoothing = 0.2) : smoothing_(smoothing) {}

  // `estimated`: our count for the request (count_chat_tokens plus anything else we added); `reported`:
  // usage.prompt_tokens of its reply. Replies reporting 0 (providers that omit usage) are ignored.
  void observe(std::size_t estimated, std::size_t reported);

  // `estimated` adjusted by the learned residual, rounded up so that the budget errs on the safe side.
  std::size_t corrected(std::size_t estimated) const;

  double residual() const { return residual_; }
  std::size_t samples() const { return samples_; }

 private:
  double smoothing_;
  double residual_ = 0;
  std::size_t samples_ = 0;
};

// One PromptTokenCorrection per model name. Looking a model up allocates only the first time it is seen.
class PromptTokenCorrections {
 public:
  PromptTokenCorrection& for_model(std::string_view model);
  const PromptTokenCorrection* find(std::string_view model) const;

 private:
  std::vector<std::pair<std::string, PromptTokenCorrection>> models_;
};

}  // namespace sigflow::strategies

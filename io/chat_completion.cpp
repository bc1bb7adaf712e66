#include "io/chat_completion.hpp"

#include <charconv>
#include <cstring>
#include <utility>

namespace sigflow::io {
namespace {

namespace od = simdjson::ondemand;

FinishReason finish_reason_from(std::string_view text) noexcept {
  if (text == "stop") return FinishReason::kStop;
  if (text == "length") return FinishReason::kLength;
  if (text == "tool_calls") return FinishReason::kToolCalls;
  if (text == "content_filter") return FinishReason::kContentFilter;
  if (text == "function_call") return FinishReason::kFunctionCall;
  return FinishReason::kOther;
}

// A string or null (as empty); anything else is a shape error.
bool read_text(od::value value, std::string_view& out) noexcept {
  od::json_type type;
  if (value.type().get(type)) return false;
  if (type == od::json_type::null) {
    out = {};
    return true;
  }
  if (type != od::json_type::string) return false;
  return !value.get_string().get(out);
}

bool read_finish_reason(od::value value, FinishReason& out) noexcept {
  std::string_view text;
  if (!read_text(value, text)) return false;
  out = text.empty() ? FinishReason::kNone : finish_reason_from(text);
  return true;
}

bool read_count(od::value value, std::uint32_t& out) noexcept {
  std::uint64_t count = 0;
  if (value.get_uint64().get(count) || count > UINT32_MAX) return false;
  out = static_cast<std::uint32_t>(count);
  return true;
}

// usage is an object, or null on the chunks before the last one.
bool read_usage(od::value value, TokenUsage& usage, bool& has_usage) noexcept {
  od::json_type type;
  if (value.type().get(type)) return false;
  if (type == od::json_type::null) return true;
  od::object object;
  if (value.get_object().get(object)) return false;
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
    if (key == "prompt_tokens") {
      if (!read_count(field.value(), usage.prompt_tokens)) return false;
    } else if (key == "completion_tokens") {
      if (!read_count(field.value(), usage.completion_tokens)) return false;
    } else if (key == "total_tokens") {
      if (!read_count(field.value(), usage.total_tokens)) return false;
    }
  }
  has_usage = true;
  return true;
}

// `message` in a completion, `delta` in a chunk: the same fields we read.
bool read_message(od::value value, std::string_view& content, std::string_view& refusal) noexcept {
  od::object object;
  if (value.get_object().get(object)) return false;
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
    if (key == "content") {
      if (!read_text(field.value(), content)) return false;
    } else if (key == "refusal") {
      if (!read_text(field.value(), refusal)) return false;
    }
  }
  return true;
}

struct ChoiceView {
  std::string_view content;
  std::string_view refusal;
  FinishReason finish_reason = FinishReason::kNone;
  bool present = false;
};

bool read_first_choice(od::value value, ChoiceView& choice) noexcept {
  od::array choices;
  if (value.get_array().get(choices)) return false;
  for (auto element_result : choices) {
    od::value element;
    if (std::move(element_result).get(element)) return false;
    if (choice.present) continue;  // only choice 0 (see header); later ones are skipped unread
    od::object object;
    if (element.get_object().get(object)) return false;
    for (auto field_result : object) {
      od::field field;
      std::string_view key;
      if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
      if (key == "message" || key == "delta") {
        if (!read_message(field.value(), choice.content, choice.refusal)) return false;
      } else if (key == "finish_reason") {
        if (!read_finish_reason(field.value(), choice.finish_reason)) return false;
      }
    }
    choice.present = true;
  }
  return true;
}

// Servers disagree on the type of `code` (OpenAI: string or null; vLLM, llama.cpp: the HTTP status number).
bool read_code(od::value value, std::string& out) noexcept {
  od::json_type type;
  if (value.type().get(type)) return false;
  out.clear();
  if (type == od::json_type::null) return true;
  if (type == od::json_type::string) {
    std::string_view text;
    if (value.get_string().get(text)) return false;
    out.assign(text);
    return true;
  }
  if (type != od::json_type::number) return false;
  std::int64_t number = 0;
  if (value.get_int64().get(number)) return false;
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
  out.assign(digits, end);
  return true;
}

bool read_error_text(od::value value, std::string& out) noexcept {
  std::string_view text;
  if (!read_text(value, text)) return false;
  out.assign(text);
  return true;
}

// One of the error fields, wherever the shape puts them. `matched` tells whether the key was one.
bool read_error_field(std::string_view key, od::value value, ProviderError& error, bool& matched) noexcept {
  matched = true;
  if (key == "message") return read_error_text(value, error.message);
  if (key == "type") return read_error_text(value, error.type);
  if (key == "param") return read_error_text(value, error.param);
  if (key == "code") return read_code(value, error.code);
  matched = false;
  return true;
}

bool read_error_object(od::value value, ProviderError& error) noexcept {
  od::json_type type;
  if (value.type().get(type)) return false;
  // Some gateways send "error": "text"; the message is all there is.
  if (type == od::json_type::string) return read_error_text(value, error.message);
  od::object object;
  if (value.get_object().get(object)) return false;
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
    bool matched = false;
    if (!read_error_field(key, field.value(), error, matched)) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(FinishReason reason) noexcept {
  switch (reason) {
    case FinishReason::kNone:
      return "";
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kToolCalls:
      return "tool_calls";
    case FinishReason::kContentFilter:
      return "content_filter";
    case FinishReason::kFunctionCall:
      return "function_call";
    case FinishReason::kOther:
      break;
  }
  return "other";
}

void ChatCompletion::clear() noexcept {
  id.clear();
  model.clear();
  content.clear();
  refusal.clear();
  finish_reason = FinishReason::kNone;
  has_usage = false;
  usage = {};
}

void ProviderError::clear() noexcept {
  http_status = 0;
  type.clear();
  code.clear();
  message.clear();
  param.clear();
}

ChatCompletionDecoder::ChatCompletionDecoder() {
  padded_.reserve(4096 + simdjson::SIMDJSON_PADDING);
}

void ChatCompletionDecoder::load(std::string_view json) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the end; a body's own buffer does not promise that.
  if (padded_.size() < json.size() + simdjson::SIMDJSON_PADDING) {
    padded_.resize(json.size() + simdjson::SIMDJSON_PADDING);
  }
  if (!json.empty()) std::memcpy(padded_.data(), json.data(), json.size());
}

DecodeStatus ChatCompletionDecoder::decode_completion(std::string_view body, ChatCompletion& out,
                                                      ProviderError& error) {
  out.clear();
  error.clear();
  load(body);
  od::document document;
  od::object root;
  if (parser_.iterate(padded_.data(), body.size(), padded_.size()).get(document) ||
      document.get_object().get(root)) {
    return DecodeStatus::kMalformed;
  }
  ChoiceView choice;
  bool has_error = false;
  for (auto field_result : root) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return DecodeStatus::kMalformed;
    std::string_view text;
    bool ok = true;
    if (key == "id") {
      ok = read_text(field.value(), text);
      out.id.assign(text);
    } else if (key == "model") {
      ok = read_text(field.value(), text);
      out.model.assign(text);
    } else if (key == "choices") {
      ok = read_first_choice(field.value(), choice);
      out.content.assign(choice.content);
      out.refusal.assign(choice.refusal);
      out.finish_reason = choice.finish_reason;
    } else if (key == "usage") {
      ok = read_usage(field.value(), out.usage, out.has_usage);
    } else if (key == "error") {
      ok = read_error_object(field.value(), error);
      has_error = true;
    }
    if (!ok) return DecodeStatus::kMalformed;
  }
  if (has_error) {
    error.http_status = 200;
    return DecodeStatus::kProviderError;
  }
  return choice.present ? DecodeStatus::kOk : DecodeStatus::kMalformed;
}

DecodeStatus ChatCompletionDecoder::decode_chunk(std::string_view data, ChatChunk& out,
                                                 ProviderError& error) {
  out = ChatChunk{};
  error.clear();
  load(data);
  od::document document;
  od::object root;
  if (parser_.iterate(padded_.data(), data.size(), padded_.size()).get(document) ||
      document.get_object().get(root)) {
    return DecodeStatus::kMalformed;
  }
  ChoiceView choice;
  bool has_error = false;
  bool has_choices = false;
  for (auto field_result : root) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return DecodeStatus::kMalformed;
    bool ok = true;
    if (key == "id") {
      ok = read_text(field.value(), out.id);
    } else if (key == "model") {
      ok = read_text(field.value(), out.model);
    } else if (key == "choices") {
      ok = read_first_choice(field.value(), choice);
      has_choices = true;
    } else if (key == "usage") {
      ok = read_usage(field.value(), out.usage, out.has_usage);
    } else if (key == "error") {
      ok = read_error_object(field.value(), error);
      has_error = true;
    }
    if (!ok) return DecodeStatus::kMalformed;
  }
  if (has_error) {
    error.http_status = 200;
    return DecodeStatus::kProviderError;
  }
  if (!has_choices) return DecodeStatus::kMalformed;
  out.has_choice = choice.present;
  out.content = choice.content;
  out.refusal = choice.refusal;
  out.finish_reason = choice.finish_reason;
  return DecodeStatus::kOk;
}

DecodeStatus ChatCompletionDecoder::decode_error(int http_status, std::string_view body, ProviderError& out) {
  out.clear();
  out.http_status = http_status;
  load(body);
  const DecodeStatus status = [&] {
    od::document document;
    od::object root;
    if (parser_.iterate(padded_.data(), body.size(), padded_.size()).get(document) ||
        document.get_object().get(root)) {
      return DecodeStatus::kMalformed;
    }
    bool found = false;
    for (auto field_result : root) {
      od::field field;
      std::string_view key;
      if (std::move(field_result).get(field) || field.unescaped_key().get(key))
        return DecodeStatus::kMalformed;
      if (key == "error") {
        if (!read_error_object(field.value(), out)) return DecodeStatus::kMalformed;
        found = true;
        continue;
      }
      // vLLM's legacy shape puts the fields at the top level.
      bool matched = false;
      if (!read_error_field(key, field.value(), out, matched)) return DecodeStatus::kMalformed;
      found = found || matched;
    }
    return found ? DecodeStatus::kProviderError : DecodeStatus::kMalformed;
  }();
  // On-demand parsing fills fields before it meets a syntax error further on: a malformed body must not
  // hand out the half it read (found by tests/fuzz/chat_completion_fuzz.cpp).
  if (status == DecodeStatus::kMalformed) {
    out.clear();
    out.http_status = http_status;
  }
  return status;
}

void append_chunk(const ChatChunk& chunk, ChatCompletion& into) {
  if (into.id.empty()) into.id.assign(chunk.id);
  if (into.model.empty()) into.model.assign(chunk.model);
  into.content.append(chunk.content);
  into.refusal.append(chunk.refusal);
  if (chunk.finish_reason != FinishReason::kNone) into.finish_reason = chunk.finish_reason;
  if (chunk.has_usage) {
    into.has_usage = true;
    into.usage = chunk.usage;
  }
}

}  // namespace sigflow::io

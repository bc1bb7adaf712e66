#pragma once
// What a TokenizerScratch holds. In a header of its own (rather than in tokenizer.cpp) only so that tests can
// force the PCRE2 path on text the ASCII scanner would handle, and compare the two.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "strategies/tokenizer/byte_pair_merge.hpp"
#include "strategies/tokenizer/tokenizer.hpp"

namespace sigflow::strategies {

struct TokenizerScratch::State {
  pcre2_match_data* match_data = nullptr;
  pcre2_match_context* match_context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  detail::MergeBuffers merge;
  bool regex_only = false;  // tests: split every piece with PCRE2
};

}  // namespace sigflow::strategies

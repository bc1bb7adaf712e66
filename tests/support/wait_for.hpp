#pragma once
// The tests' bounded wait: polls `pred` every `poll` until it holds or `timeout` passes.
#include <chrono>
#include <thread>

namespace sigflow::testing_support {

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds timeout,
              std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace sigflow::testing_support

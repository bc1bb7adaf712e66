#pragma once
// FaultStorm: a scripted storm of faults in the loopback simulators, for `sigflow demo --faults`, the soak
// (tools/soak/soak) and the fault-storm test. One thread wakes every `period` (jittered ±50%, seeded) and
// injects one fault picked at random: a dropped connection of a random venue, a silent connection (for
// `silence`, then data resumes), a withheld book delta (a gap), a malformed frame, or an inference burst
// (5xx, overloaded, hung requests the client times out, or a spell of 429s). Faults aim at one connection
// of one venue at a time, as real venues fail, so the other venues keep flowing meanwhile.
//
// It only calls the simulators' fault hooks; nothing here is on the engine's hot path.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sigflow::tools {
class ExchangeSim;
class InferenceSim;
}  // namespace sigflow::tools

namespace sigflow::app {

enum class StormFault : std::uint8_t { kDisconnect, kSilence, kGap, kMalformed, kInference };
inline constexpr std::size_t kStormFaultKinds = 5;

struct FaultStormConfig {
  std::chrono::milliseconds period{1500};   // mean time between two faults
  std::chrono::milliseconds silence{3000};  // how long a silenced connection withholds data
  std::uint64_t seed = 1;
  // Which kinds to draw from (all by default); a kind whose simulator is absent is skipped.
  std::array<bool, kStormFaultKinds> kinds{true, true, true, true, true};
};

struct FaultStormCounts {
  std::array<std::uint64_t, kStormFaultKinds> injected{};  // faults that reached a connection, by kind
  std::uint64_t gap_connections = 0;  // connections a withheld delta reached (each breaks its books' chain)
  std::uint64_t inference_bursts = 0;
};

class FaultStorm {
 public:
  // `llm` may be null (no inference faults). Both simulators must outlive the storm.
  FaultStorm(tools::ExchangeSim& sim, tools::InferenceSim* llm, FaultStormConfig config);
  ~FaultStorm();  // stops
  FaultStorm(const FaultStorm&) = delete;
  FaultStorm& operator=(const FaultStorm&) = delete;

  void start();
  // Ends the storm: lifts any silence and the 429 spell, so the simulators serve normally again.
  void stop();

  FaultStormCounts counts() const;
  // One line: "faults: disconnect=N silence=N gap=N malformed=N inference=N".
  std::string summary() const;

 private:
  void run();
  void inject(StormFault kind, std::uint64_t draw);

  tools::ExchangeSim& sim_;
  tools::InferenceSim* llm_;
  FaultStormConfig config_;
  std::vector<std::string> venues_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  FaultStormCounts counts_;
  // Silenced connections and when each speaks again (monotonic ns); the 429 spell's end.
  std::vector<std::pair<std::uint64_t, std::int64_t>> silenced_;
  std::int64_t quota_until_ns_ = 0;
  std::uint64_t llm_faults_requested_ = 0;  // counted faults handed to the inference simulator
  std::thread thread_;
};

}  // namespace sigflow::app

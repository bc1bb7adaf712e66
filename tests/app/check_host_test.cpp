#include "engine/app/check_host.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sigflow::app {
namespace {

namespace fs = std::filesystem;

// A fake /proc and /sys tree: check_host reads only files, so the advice can be checked for hosts this
// test does not run on.
class FakeHost {
 public:
  FakeHost() : root_(fs::temp_directory_path() / ("sigflow-host-" + std::to_string(::getpid()))) {
    fs::remove_all(root_);
  }
  ~FakeHost() { fs::remove_all(root_); }

  FakeHost& file(const std::string& path, const std::string& text) {
    const fs::path p = root_ / fs::path(path).relative_path();
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text << "\n";
    return *this;
  }

  std::vector<HostFinding> check(std::vector<int> pinned) const {
    HostCheckInput in;
    in.root = root_.string();
    in.pinned_cpus = std::move(pinned);
    in.probe_io_uring = false;
    return check_host(in);
  }

 private:
  fs::path root_;
};

const HostFinding* find(const std::vector<HostFinding>& findings, const std::string& name) {
  for (const auto& f : findings)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(CheckHost, TunedHostIsOk) {
  FakeHost host;
  host.file("/sys/devices/system/cpu/online", "0-3")
      .file("/proc/cmdline", "BOOT_IMAGE=/vmlinuz isolcpus=2,3 nohz_full=2,3 processor.max_cstate=1")
      .file("/sys/devices/system/cpu/isolated", "2-3")
      .file("/sys/devices/system/cpu/nohz_full", "2-3")
      .file("/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", "performance")
      .file("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "performance")
      .file("/sys/devices/system/cpu/cpu2/topology/thread_siblings_list", "2")
      .file("/sys/devices/system/cpu/cpu3/topology/thread_siblings_list", "3")
      .file("/sys/class/net/eth0/device/msi_irqs/40", "msix")
      .file("/proc/irq/40/smp_affinity_list", "0-1")
      .file("/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never")
      .file("/proc/sys/kernel/io_uring_disabled", "0")
      .file("/sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc");
  const auto findings = host.check({2, 3});
  for (const auto& f : findings) EXPECT_NE(f.status, CheckStatus::kWarn) << f.name << ": " << f.value;
  ASSERT_NE(find(findings, "isolcpus"), nullptr);
  EXPECT_EQ(find(findings, "isolcpus")->value, "2,3");
  EXPECT_EQ(find(findings, "irq eth0")->status, CheckStatus::kOk);
}

TEST(CheckHost, UntunedHostGetsConcreteAdvice) {
  FakeHost host;
  host.file("/sys/devices/system/cpu/online", "0-3")
      .file("/proc/cmdline", "BOOT_IMAGE=/vmlinuz quiet")
      .file("/sys/devices/system/cpu/isolated", "")
      .file("/sys/devices/system/cpu/nohz_full", "")
      .file("/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "powersave")
      .file("/sys/devices/system/cpu/cpu1/topology/thread_siblings_list", "1,3")
      .file("/sys/class/net/eth0/device/msi_irqs/40", "msix")
      .file("/proc/irq/40/smp_affinity_list", "0-3")
      .file("/sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never")
      .file("/proc/sys/kernel/io_uring_disabled", "2")
      .file("/sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet");
  const auto findings = host.check({1});
  auto expect_warn = [&](const std::string& name, const std::string& advice_part) {
    const HostFinding* f = find(findings, name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->status, CheckStatus::kWarn) << name;
    EXPECT_NE(f->advice.find(advice_part), std::string::npos) << name << ": " << f->advice;
  };
  expect_warn("isolcpus", "isolcpus=1");
  expect_warn("nohz_full", "nohz_full=1 rcu_nocbs=1");
  expect_warn("governor", "frequency-set -g performance");
  expect_warn("smt", "disable SMT");
  expect_warn("irq eth0", "smp_affinity_list");
  expect_warn("thp", "madvise");
  expect_warn("io_uring", "io_uring_disabled=0");
  expect_warn("clocksource", "tsc");
}

TEST(CheckHost, VirtualMachineWithoutCpufreqOrNicIrqsIsReportedNotWarned) {
  FakeHost host;
  host.file("/sys/devices/system/cpu/online", "0-1").file("/sys/class/net/lo/operstate", "unknown");
  const auto findings = host.check({});
  EXPECT_EQ(find(findings, "governor")->status, CheckStatus::kInfo);
  EXPECT_EQ(find(findings, "irq")->status, CheckStatus::kInfo);
  EXPECT_EQ(find(findings, "pinning")->status, CheckStatus::kInfo);
}

}  // namespace
}  // namespace sigflow::app

#include "engine/app/check_host.hpp"

#include <liburing.h>
#include <sys/resource.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>

#include "engine/config.hpp"

namespace sigflow::app {
namespace {

namespace fs = std::filesystem;

// First line of a kernel file, trimmed; nullopt-like empty with `found` false when absent.
struct FileText {
  bool found = false;
  std::string text;
};

FileText read_line(const std::string& root, const std::string& path) {
  std::ifstream in(fs::path(root) / fs::path(path).relative_path());
  FileText f;
  if (!in) return f;
  f.found = true;
  std::getline(in, f.text);
  while (!f.text.empty() && (f.text.back() == '\n' || f.text.back() == ' ')) f.text.pop_back();
  return f;
}

// "0-3,8,10-11" → {0,1,2,3,8,10,11}; malformed pieces are skipped (the kernel writes these).
std::set<int> parse_cpu_list(const std::string& text) {
  std::set<int> cpus;
  std::stringstream ss(text);
  std::string piece;
  while (std::getline(ss, piece, ',')) {
    try {
      const auto dash = piece.find('-');
      if (dash == std::string::npos) {
        if (!piece.empty()) cpus.insert(std::stoi(piece));
      } else {
        for (int c = std::stoi(piece.substr(0, dash)); c <= std::stoi(piece.substr(dash + 1)); ++c)
          cpus.insert(c);
      }
    } catch (const std::exception&) {
    }
  }
  return cpus;
}

std::string cpu_list_text(const std::set<int>& cpus) {
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

// The kernel parameter `name=` from /proc/cmdline, or empty.
std::string cmdline_value(const std::string& cmdline, const std::string& name) {
  std::stringstream ss(cmdline);
  std::string word;
  while (ss >> word)
    if (word.rfind(name + "=", 0) == 0) return word.substr(name.size() + 1);
  return {};
}

class Report {
 public:
  void ok(std::string name, std::string value) {
    add(CheckStatus::kOk, std::move(name), std::move(value), {});
  }
  void warn(std::string name, std::string value, std::string advice) {
    add(CheckStatus::kWarn, std::move(name), std::move(value), std::move(advice));
  }
  void info(std::string name, std::string value, std::string advice = {}) {
    add(CheckStatus::kInfo, std::move(name), std::move(value), std::move(advice));
  }
  std::vector<HostFinding> take() { return std::move(findings_); }

 private:
  void add(CheckStatus s, std::string name, std::string value, std::string advice) {
    findings_.push_back({s, std::move(name), std::move(value), std::move(advice)});
  }
  std::vector<HostFinding> findings_;
};

void check_isolation(const HostCheckInput& in, const std::set<int>& pinned, Report& r) {
  const std::string cmdline = read_line(in.root, "/proc/cmdline").text;
  const std::set<int> isolated = parse_cpu_list(read_line(in.root, "/sys/devices/system/cpu/isolated").text);
  const std::set<int> nohz = parse_cpu_list(read_line(in.root, "/sys/devices/system/cpu/nohz_full").text);
  const std::string wanted = pinned.empty() ? "<cpus of the hot threads>" : cpu_list_text(pinned);
  std::set<int> not_isolated;
  for (int c : pinned)
    if (!isolated.count(c)) not_isolated.insert(c);
  if (isolated.empty()) {
    r.warn("isolcpus", "none",
           "isolate the hot threads' CPUs from the scheduler: kernel command line isolcpus=" + wanted +
               " (then pin with [threads])");
  } else if (!not_isolated.empty()) {
    r.warn("isolcpus", cpu_list_text(isolated),
           "pinned CPUs " + cpu_list_text(not_isolated) + " are not isolated: add them to isolcpus=");
  } else {
    r.ok("isolcpus", cpu_list_text(isolated));
  }
  std::set<int> ticking;
  for (int c : pinned)
    if (!nohz.count(c)) ticking.insert(c);
  if (nohz.empty() || !ticking.empty()) {
    r.warn("nohz_full", nohz.empty() ? "none" : cpu_list_text(nohz),
           "stop the scheduler tick on the hot CPUs: nohz_full=" + wanted + " rcu_nocbs=" + wanted);
  } else {
    r.ok("nohz_full", cpu_list_text(nohz));
  }
  if (!cmdline_value(cmdline, "intel_idle.max_cstate").empty() ||
      !cmdline_value(cmdline, "processor.max_cstate").empty()) {
    r.ok("c-states", "limited on the kernel command line");
  } else {
    r.info("c-states", "not limited",
           "deep C-states add wake-up latency: processor.max_cstate=1 or idle=poll");
  }
}

void check_governors(const HostCheckInput& in, const std::set<int>& cpus, Report& r) {
  std::set<std::string> governors;
  std::set<int> slow;
  for (int c : cpus) {
    const FileText g =
        read_line(in.root, "/sys/devices/system/cpu/cpu" + std::to_string(c) + "/cpufreq/scaling_governor");
    if (!g.found) continue;
    governors.insert(g.text);
    if (g.text != "performance") slow.insert(c);
  }
  if (governors.empty()) {
    r.info("governor", "no cpufreq interface", "frequency is managed by the hypervisor or firmware");
  } else if (!slow.empty()) {
    std::string names;
    for (const auto& g : governors) names += (names.empty() ? "" : ",") + g;
    r.warn("governor", names,
           "CPUs " + cpu_list_text(slow) + " scale their clock: cpupower -c " + cpu_list_text(slow) +
               " frequency-set -g performance");
  } else {
    r.ok("governor", "performance");
  }
}

void check_smt(const HostCheckInput& in, const std::set<int>& pinned, Report& r) {
  const FileText control = read_line(in.root, "/sys/devices/system/cpu/smt/control");
  for (int c : pinned) {
    const std::set<int> siblings =
        parse_cpu_list(read_line(in.root, "/sys/devices/system/cpu/cpu" + std::to_string(c) +
                                              "/topology/thread_siblings_list")
                           .text);
    std::set<int> others;
    for (int s : siblings)
      if (s != c) others.insert(s);
    if (others.empty()) continue;
    r.warn("smt", "CPU " + std::to_string(c) + " shares its core with " + cpu_list_text(others),
           "keep the sibling idle (isolate it and pin nothing there) or disable SMT: echo off > "
           "/sys/devices/system/cpu/smt/control");
  }
  if (control.found) r.info("smt control", control.text);
}

void check_nic_irqs(const HostCheckInput& in, const std::set<int>& pinned, Report& r) {
  const fs::path net = fs::path(in.root) / "sys/class/net";
  std::error_code ec;
  bool any_nic = false;
  for (const auto& entry : fs::directory_iterator(net, ec)) {
    const std::string name = entry.path().filename();
    const fs::path irqs = entry.path() / "device/msi_irqs";
    if (!fs::exists(irqs, ec)) continue;  // loopback and virtual devices have no interrupts of their own
    any_nic = true;
    std::set<int> on_pinned_irqs;
    std::set<int> on_pinned_cpus;
    for (const auto& irq : fs::directory_iterator(irqs, ec)) {
      const std::string number = irq.path().filename();
      const std::set<int> affinity =
          parse_cpu_list(read_line(in.root, "/proc/irq/" + number + "/smp_affinity_list").text);
      for (int c : pinned)
        if (affinity.count(c)) {
          on_pinned_irqs.insert(std::stoi(number));
          on_pinned_cpus.insert(c);
        }
    }
    if (on_pinned_irqs.empty()) {
      r.ok("irq " + name, "no interrupts on pinned CPUs");
    } else {
      r.warn("irq " + name,
             "IRQs " + cpu_list_text(on_pinned_irqs) + " may run on pinned CPUs " +
                 cpu_list_text(on_pinned_cpus),
             "steer them to housekeeping CPUs: echo <cpus> > /proc/irq/<n>/smp_affinity_list (and stop "
             "irqbalance, or ban the hot CPUs with IRQBALANCE_BANNED_CPULIST)");
    }
  }
  if (!any_nic) r.info("irq", "no NIC with its own interrupts (virtual or container network)");
}

void check_memory(const HostCheckInput& in, Report& r) {
  const FileText thp = read_line(in.root, "/sys/kernel/mm/transparent_hugepage/enabled");
  if (!thp.found) {
    r.info("thp", "not available");
  } else if (thp.text.find("[always]") != std::string::npos) {
    r.warn("thp", thp.text,
           "khugepaged compaction stalls threads at random: echo madvise > "
           "/sys/kernel/mm/transparent_hugepage/enabled");
  } else {
    r.ok("thp", thp.text);
  }
  rlimit limit{};
  if (in.probe_io_uring && ::getrlimit(RLIMIT_MEMLOCK, &limit) == 0) {
    const bool unlimited = limit.rlim_cur == RLIM_INFINITY;
    const std::string value = unlimited ? "unlimited" : std::to_string(limit.rlim_cur / 1024) + " KiB";
    if (unlimited || limit.rlim_cur >= (64u << 20)) {
      r.ok("memlock", value);
    } else {
      r.warn("memlock", value, "mlockall and io_uring buffer rings need locked memory: ulimit -l unlimited");
    }
  }
}

void check_io_uring(const HostCheckInput& in, Report& r) {
  const FileText disabled = read_line(in.root, "/proc/sys/kernel/io_uring_disabled");
  if (disabled.found && disabled.text != "0") {
    r.warn("io_uring", "kernel.io_uring_disabled=" + disabled.text, "sysctl -w kernel.io_uring_disabled=0");
    return;
  }
  if (!in.probe_io_uring) return;
  io_uring ring{};
  const int rc = io_uring_queue_init(8, &ring, 0);
  if (rc < 0) {
    r.warn("io_uring", std::string("setup failed: ") + std::strerror(-rc),
           "the feed threads need io_uring (kernel 6.0+, not blocked by seccomp or a container profile)");
    return;
  }
  io_uring_queue_exit(&ring);
  r.ok("io_uring", "available");
}

void check_clock(const HostCheckInput& in, Report& r) {
  const FileText source =
      read_line(in.root, "/sys/devices/system/clocksource/clocksource0/current_clocksource");
  if (!source.found) return;
  if (source.text == "tsc") {
    r.ok("clocksource", "tsc");
  } else {
    r.warn("clocksource", source.text,
           "clock reads leave the vDSO fast path or cost more: use tsc where it is stable (clocksource=tsc "
           "tsc=reliable)");
  }
}

}  // namespace

std::vector<HostFinding> check_host(const HostCheckInput& in) {
  Report r;
  const std::set<int> online = parse_cpu_list(read_line(in.root, "/sys/devices/system/cpu/online").text);
  r.info("cpus", online.empty() ? "unknown" : cpu_list_text(online) + " online");
  const std::set<int> pinned(in.pinned_cpus.begin(), in.pinned_cpus.end());
  if (pinned.empty())
    r.info("pinning", "no --config given or no [threads] cpu",
           "pin the feed and strategy threads in [threads]");
  check_isolation(in, pinned, r);
  check_governors(in, pinned.empty() ? online : pinned, r);
  check_smt(in, pinned, r);
  check_nic_irqs(in, pinned, r);
  check_memory(in, r);
  check_io_uring(in, r);
  check_clock(in, r);
  return r.take();
}

int run_check_host(const std::string& config_path, std::ostream& out, std::ostream& err) {
  HostCheckInput input;
  if (!config_path.empty()) {
    try {
      const engine::Config config = engine::load_config_file(config_path);
      for (const auto& [name, thread] : config.threads) {
        if (!thread.cpu) continue;
        input.pinned_cpus.push_back(*thread.cpu);
      }
    } catch (const std::exception& e) {
      err << "sigflow check-host: " << e.what() << "\n";
      return 2;
    }
  }
  for (const HostFinding& f : check_host(input)) {
    const char* tag = f.status == CheckStatus::kOk     ? "ok  "
                      : f.status == CheckStatus::kWarn ? "WARN"
                                                       : "info";
    out << tag << "  " << f.name << ": " << f.value << "\n";
    if (!f.advice.empty()) out << "      -> " << f.advice << "\n";
  }
  return 0;
}

}  // namespace sigflow::app

#include "engine/app/stop_signals.hpp"

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <ctime>

namespace sigflow::app {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout reader must not kill the process mid-write
  waiter_ = std::thread([this] { wait(); });
}

StopSignals::~StopSignals() {
  done_.store(true);
  waiter_.join();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

void StopSignals::wait() {
  const timespec poll{0, 100'000'000};  // how soon the destructor's join returns
  while (!done_.load()) {
    if (sigtimedwait(&set_, nullptr, &poll) < 0) continue;  // timeout or EINTR
    if (received_.fetch_add(1) >= 1) _exit(130);
  }
}

}  // namespace sigflow::app

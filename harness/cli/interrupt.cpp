// The SIGINT/SIGTERM handler of `lifecheck run`: async-signal-safe (atomics, kill, write, _exit).
#include "harness/cli/interrupt.hpp"

#include "harness/protocol/target.hpp"

#include <csignal>

#include <unistd.h>

namespace lifecheck::cli {
namespace {

std::atomic<bool> stop_flag{false};
std::atomic<int> caught{0};

struct sigaction previous_int {};

struct sigaction previous_term {};

extern "C" void on_signal(int sig) {
    int none = 0;
    if (!caught.compare_exchange_strong(none, sig)) {
        protocol::signal_target_groups(SIGKILL);
        ::_exit(128 + sig);
    }
    stop_flag.store(true);
    static char const note[] = "\nlifecheck: interrupted: stopping the targets, writing the "
                               "reports (interrupt again to quit at once)\n";
    [[maybe_unused]] auto const n = ::write(STDERR_FILENO, note, sizeof note - 1);
    protocol::signal_target_groups(SIGTERM);
}

} // namespace

interrupt_guard::interrupt_guard() {
    stop_flag.store(false);
    caught.store(0);
    protocol::clear_target_group_signal();

    struct sigaction sa {};

    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, &previous_int);
    ::sigaction(SIGTERM, &sa, &previous_term);
}

interrupt_guard::~interrupt_guard() {
    ::sigaction(SIGINT, &previous_int, nullptr);
    ::sigaction(SIGTERM, &previous_term, nullptr);
}

std::atomic<bool> const& interrupt_guard::stop() const {
    return stop_flag;
}

void interrupt_guard::request_stop() {
    stop_flag.store(true);
}

int interrupt_guard::signal() const {
    return caught.load();
}

std::string interrupt_guard::signal_name() const {
    switch (signal()) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case 0:
        return "";
    }
    return "signal " + std::to_string(signal());
}

int interrupt_guard::exit_code() const {
    return signal() == 0 ? 0 : 128 + signal();
}

} // namespace lifecheck::cli

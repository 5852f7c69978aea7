// The progress line of `lifecheck run`: counts by result class, current scenario, elapsed time.
#include "harness/cli/progress.hpp"

#include <cstdio>

#include <sys/ioctl.h>
#include <unistd.h>

namespace lifecheck::cli {
namespace {

constexpr check::verdict order[] = {check::verdict::pass,
                                    check::verdict::fail,
                                    check::verdict::crash,
                                    check::verdict::hang,
                                    check::verdict::skip,
                                    check::verdict::error,
                                    check::verdict::divergence};

std::size_t terminal_width() {
    winsize w{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 10)
        return w.ws_col;
    return 100;
}

} // namespace

progress_line::progress_line(bool enabled, std::size_t total, bool terminal)
    : enabled_{enabled}
    , terminal_{terminal}
    , total_{total} {
    if (enabled_ && terminal_)
        ticker_ = std::thread{[this] {
            std::unique_lock lock{mu_};
            while (!stopping_) {
                wake_.wait_for(lock, std::chrono::milliseconds{250});
                if (!stopping_)
                    draw_locked();
            }
        }};
}

progress_line::~progress_line() {
    stop();
}

bool progress_line::stderr_is_terminal() {
    return ::isatty(STDERR_FILENO) == 1;
}

void progress_line::started(std::string const& target, std::string const& scenario_id) {
    std::lock_guard lock{mu_};
    current_ = target + " " + scenario_id;
    if (enabled_)
        draw_locked();
}

void progress_line::finished(check::verdict v) {
    std::lock_guard lock{mu_};
    for (std::size_t i = 0; i < counts_.size(); ++i)
        if (order[i] == v)
            ++counts_[i];
    ++done_;
    if (enabled_)
        draw_locked();
}

void progress_line::around(std::function<void()> const& print) {
    std::lock_guard lock{mu_};
    if (enabled_)
        erase_locked();
    print();
    std::fflush(stdout);
    if (enabled_)
        draw_locked();
}

void progress_line::stop() {
    {
        std::lock_guard lock{mu_};
        if (stopping_)
            return;
        stopping_ = true;
        if (enabled_)
            erase_locked();
    }
    wake_.notify_all();
    if (ticker_.joinable())
        ticker_.join();
}

std::string progress_line::text(std::size_t width) const {
    double const s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, "%.1f s", s);
    std::string out = "[" + std::to_string(done_) + "/" + std::to_string(total_) + "] ";
    std::string counts;
    for (std::size_t i = 0; i < counts_.size(); ++i)
        if (counts_[i] > 0 || i < 2)
            counts += (counts.empty() ? "" : ", ") + std::to_string(counts_[i]) + " " +
                      check::to_string(order[i]);
    out += counts + " \xC2\xB7 " + elapsed;
    if (!current_.empty())
        out += " \xC2\xB7 " + current_;
    // Cut to the width (counting UTF-8 code points) so the line never wraps.
    std::size_t cols = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if ((static_cast<unsigned char>(out[i]) & 0xC0) == 0x80)
            continue;
        if (++cols > width)
            return out.substr(0, i);
    }
    return out;
}

void progress_line::draw_locked() {
    if (stopping_)
        return;
    std::string const line = text(terminal_width() - 1);
    std::size_t cols = 0;
    for (char c : line)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
            ++cols;
    std::string out = "\r" + line;
    if (cols < drawn_)
        out += std::string(drawn_ - cols, ' ');
    drawn_ = cols;
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fflush(stderr);
}

void progress_line::erase_locked() {
    if (drawn_ == 0)
        return;
    std::string const out = "\r" + std::string(drawn_, ' ') + "\r";
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fflush(stderr);
    drawn_ = 0;
}

} // namespace lifecheck::cli

// A target that is a child process: posix_spawn with pipes, a stdout reader thread, deadlines,
// and a dead child turned into an exit status (scenario-format §3, §4 I7) — never into a harness
// crash.
#include "harness/protocol/jsonl.hpp"
#include "harness/protocol/target.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace lifecheck::protocol {
namespace {

constexpr auto exit_grace = milliseconds{1500}; // after `exit`, before SIGTERM
constexpr auto term_grace = milliseconds{1000}; // after SIGTERM, before SIGKILL
constexpr auto reap_grace = milliseconds{500};  // stdout closed; wait this long for the exit
constexpr int poll_ms = 50;                     // the reader checks for stop() this often

/// The process groups of live targets, for signal_target_groups: a fixed table of atomics, so a
/// signal handler can read it (0 = a free slot). More targets than slots are not remembered;
/// stop() still ends them.
std::atomic<pid_t> live_groups[1024];
static_assert(std::atomic<pid_t>::is_always_lock_free, "read from a signal handler");
/// The signal signal_target_groups last sent (0: none since clear_target_group_signal): a target
/// started after it gets it too, so a signal that lands while a target is being spawned (after
/// the runner chose the scenario, before the group is remembered) still ends that target.
std::atomic<int> groups_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "written from a signal handler");

void remember_group(pid_t group) {
    for (std::atomic<pid_t>& slot : live_groups) {
        pid_t free = 0;
        if (slot.compare_exchange_strong(free, group))
            break;
    }
    // After the slot is filled: signal_target_groups either sees the slot or its signal is seen
    // here (both sequentially consistent), never neither.
    if (int const sig = groups_signal.load(); sig != 0)
        ::kill(-group, sig);
}

void forget_group(pid_t group) {
    for (std::atomic<pid_t>& slot : live_groups) {
        pid_t held = group;
        if (slot.compare_exchange_strong(held, 0))
            return;
    }
}

std::string signal_name(int sig) {
    char const* abbrev = sigabbrev_np(sig);
    if (abbrev)
        return std::string{"SIG"} + abbrev;
    return "signal " + std::to_string(sig);
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "killed by signal " + signal_name(WTERMSIG(status));
    return "stopped (wait status " + std::to_string(status) + ")";
}

class process_target final : public target {
public:
    explicit process_target(process_options opts)
        : opts_{std::move(opts)} {}

    process_target(process_target const&) = delete;
    process_target& operator=(process_target const&) = delete;

    ~process_target() override { stop(); }

    result<hello_info> start(milliseconds timeout) override {
        ignore_sigpipe();
        if (auto failed = spawn())
            return *failed;
        reader_ = std::thread{[this] {
            read_loop();
        }};
        auto const deadline = clock::now() + timeout;
        bool const got = log_.wait_until(
            [this](std::vector<event> const& es) {
                if (bad_first_line_)
                    return true;
                for (event const& e : es)
                    if (e.type == event_type::hello)
                        return true;
                return false;
            },
            deadline);
        if (bad_first_line_) {
            std::lock_guard lock{mu_};
            return diagnostic{
                "<target>", "", "a hello line from " + describe_target(), first_line_};
        }
        if (!got) {
            std::string const why =
                log_.dead() ? "the target " + exit_status() + " before hello"
                            : "no hello within " + std::to_string(timeout.count()) + " ms";
            return diagnostic{"<target>", "", "a hello line from " + describe_target(), why};
        }
        for (event const& e : log_.snapshot())
            if (e.type == event_type::hello) {
                hello_ = hello_info{e.target, e.version, e.dialects, e.features};
                break;
            }
        return hello_;
    }

    hello_info const& hello() const override { return hello_; }

    load_outcome load(std::string const& scenario_id,
                      scenario::json const& app,
                      scenario::dialect d,
                      milliseconds timeout) override {
        log_.reset(clock::now());
        load_outcome out;
        if (!send_line(load_command(scenario_id, app, d))) {
            out.status = load_status::died;
            out.detail = settle_exit_status();
            return out;
        }
        event found;
        bool const got = log_.wait_until(
            [&found](std::vector<event> const& es) {
                for (event const& e : es)
                    if (e.type == event_type::ready || e.type == event_type::unsupported ||
                        e.type == event_type::load_error || e.type == event_type::startup_error) {
                        found = e;
                        return true;
                    }
                return false;
            },
            clock::now() + timeout);
        if (got && found.type == event_type::ready) {
            out.status = load_status::ready;
            out.port = found.port;
        } else if (got && found.type == event_type::startup_error) {
            out.status = load_status::startup_error;
            out.detail = found.what;
            out.code = found.code;
        } else if (got) {
            out.status = found.type == event_type::load_error ? load_status::load_error
                                                              : load_status::unsupported;
            out.detail = found.what.empty() ? "(no reason given)" : found.what;
        } else if (log_.dead()) {
            out.status = load_status::died;
            out.detail = settle_exit_status();
        } else {
            out.status = load_status::timed_out;
            out.detail = "no ready, unsupported, loadError or startupError within " +
                         std::to_string(timeout.count()) + " ms of load";
        }
        return out;
    }

    close_outcome close(milliseconds timeout) override {
        close_outcome out;
        std::size_t const from = log_.size();
        if (!send_line(close_command())) {
            out.status = close_status::died;
            out.detail = settle_exit_status();
            return out;
        }
        bool const got = log_.wait_until(
            [from](std::vector<event> const& es) {
                for (std::size_t i = from; i < es.size(); ++i)
                    if (es[i].type == event_type::closed)
                        return true;
                return false;
            },
            clock::now() + timeout);
        for (event const& e : log_.snapshot(from)) {
            if (e.type == event_type::closed)
                break;
            if (e.type == event_type::cb && e.req == "app")
                out.app_events.push_back(e);
        }
        if (got) {
            out.status = close_status::closed;
        } else if (log_.dead()) {
            out.status = close_status::died;
            out.detail = settle_exit_status();
        } else {
            out.status = close_status::timed_out;
            out.detail = "no closed within " + std::to_string(timeout.count()) + " ms of close";
        }
        return out;
    }

    idle_outcome wait_idle(clock::time_point deadline) override {
        idle_outcome out;
        if (std::find(hello_.features.begin(), hello_.features.end(), "idle") ==
            hello_.features.end())
            return out;
        long long const id = ++idle_commands_;
        std::size_t const from = log_.size();
        if (!send_line(idle_command(id))) {
            out.status = idle_status::died;
            return out;
        }
        bool const got = log_.wait_until(
            [from, id, &out](std::vector<event> const& es) {
                for (std::size_t i = from; i < es.size(); ++i)
                    if (es[i].type == event_type::idle && es[i].idle_id == id) {
                        out.at = i;
                        return true;
                    }
                return false;
            },
            deadline);
        out.status =
            got ? idle_status::idle : (log_.dead() ? idle_status::died : idle_status::timed_out);
        return out;
    }

    event_log const& events() const override { return log_; }

    // The reader marks the log dead after stdout ended and the child was reaped, so every event
    // the target wrote is in the log by then.
    bool alive() const override { return pid_ > 0 && !log_.dead(); }

    std::string exit_status() const override {
        std::lock_guard lock{mu_};
        if (pid_ <= 0)
            return "not started";
        if (reaped_)
            return describe_wait_status(wait_status_);
        if (eof_)
            return "closed its stdout";
        return "running";
    }

    std::vector<std::string> take_warnings() override {
        std::lock_guard lock{mu_};
        return std::exchange(warnings_, {});
    }

    std::string log_tail(std::size_t max_bytes) const override {
        if (opts_.log_file.empty())
            return {};
        std::ifstream in{opts_.log_file, std::ios::binary};
        if (!in)
            return {};
        in.seekg(0, std::ios::end);
        auto const size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
        std::size_t const from = std::max(log_start_, size > max_bytes ? size - max_bytes : 0);
        if (from >= size)
            return {};
        in.seekg(static_cast<std::streamoff>(from));
        std::string tail(size - from, '\0');
        in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
        return tail;
    }

    std::filesystem::path log_file() const override {
        return opts_.pass_stderr ? std::filesystem::path{} : opts_.log_file;
    }

    void stop() override {
        if (pid_ <= 0 || stopped_)
            return;
        stopped_ = true;
        if (!log_.dead()) {
            send_line(exit_command());
            close_fd(in_fd_); // EOF on stdin: every target exits on it
            wait_exit(exit_grace);
        }
        if (!reaped()) {
            ::kill(-pid_, SIGTERM);
            if (!wait_exit(term_grace)) {
                ::kill(-pid_, SIGKILL);
                wait_exit(milliseconds{5000});
            }
        }
        end_group();
        forget_group(pid_);
        stop_reader_ = true;
        if (reader_.joinable())
            reader_.join();
        close_fd(in_fd_);
        close_fd(out_fd_);
    }

private:
    std::string describe_target() const {
        return opts_.name.empty() ? (opts_.argv.empty() ? "<target>" : opts_.argv[0]) : opts_.name;
    }

    /// Spawns the child; a diagnostic when that fails.
    std::optional<diagnostic> spawn() {
        if (opts_.argv.empty())
            return diagnostic{"<target>", "", "a command to start the target", "nothing"};
        int in_pipe[2];
        int out_pipe[2];
        // NOTE: O_CLOEXEC — with -j N another worker's child must not inherit these ends, or
        // this target would never see EOF on stdin.
        if (::pipe2(in_pipe, O_CLOEXEC) != 0)
            return sys_failure("pipe");
        if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
            ::close(in_pipe[0]);
            ::close(in_pipe[1]);
            return sys_failure("pipe");
        }
        if (!opts_.pass_stderr && !opts_.log_file.empty())
            open_log();

        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in_pipe[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
        if (!opts_.pass_stderr) {
            std::string const err =
                opts_.log_file.empty() ? std::string{"/dev/null"} : opts_.log_file.string();
            posix_spawn_file_actions_addopen(
                &fa, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        }
        // Sockets of concurrent clients must not leak into the child either (an inherited
        // client socket keeps a connection open after the client closed it).
        posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);

        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults,
                  SIGPIPE); // the harness ignores SIGPIPE; the target must not inherit it
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setpgroup(&attr, 0); // its own group: stop() ends `sh -c` and children
        posix_spawnattr_setflags(
            &attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);

        std::vector<char*> argv;
        for (std::string& a : opts_.argv)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = 0;
        int const rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        ::close(in_pipe[0]);
        ::close(out_pipe[1]);
        if (rc != 0) {
            ::close(in_pipe[1]);
            ::close(out_pipe[0]);
            return diagnostic{"<target>",
                              "",
                              "a target process from `" + opts_.argv[0] + "`",
                              std::string{"spawn failed: "} + std::strerror(rc)};
        }
        pid_ = pid;
        remember_group(pid);
        in_fd_ = in_pipe[1];
        out_fd_ = out_pipe[0];
        return std::nullopt;
    }

    static diagnostic sys_failure(char const* what) {
        return diagnostic{"<target>", "", std::string{"a working "} + what, std::strerror(errno)};
    }

    /// Appends a header to the log so each start of the target is findable in it.
    void open_log() {
        std::error_code ec;
        std::filesystem::create_directories(opts_.log_file.parent_path(), ec);
        std::ofstream log{opts_.log_file, std::ios::app | std::ios::binary};
        log << "=== lifecheck: starting " << describe_target() << ":";
        for (std::string const& a : opts_.argv)
            log << ' ' << a;
        log << '\n';
        log.flush();
        log.seekp(0, std::ios::end);
        auto const pos = log.tellp();
        log_start_ = pos > 0 ? static_cast<std::size_t>(pos) : 0;
    }

    /// Reads stdout until EOF; each line becomes an event or a warning.
    void read_loop() {
        line_splitter lines;
        char buf[65536];
        for (;;) {
            pollfd p{out_fd_, POLLIN, 0};
            int const ready = ::poll(&p, 1, poll_ms);
            if (ready < 0 && errno != EINTR)
                break;
            if (ready <= 0) {
                if (stop_reader_)
                    break;
                continue;
            }
            ssize_t const n = ::read(out_fd_, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                break;
            lines.feed(std::string_view{buf, static_cast<std::size_t>(n)});
            drain(lines);
        }
        lines.finish();
        drain(lines);
        {
            std::lock_guard lock{mu_};
            eof_ = true;
        }
        // stdout ended: the process is exiting, or broke the protocol by closing it. Either
        // way it is dead to the harness; reap it (killing it if it lingers) for the status.
        if (!wait_exit(reap_grace)) {
            ::kill(-pid_, SIGKILL);
            wait_exit(milliseconds{5000});
        }
        log_.mark_dead();
    }

    void drain(line_splitter& lines) {
        while (auto line = lines.next()) {
            if (line->find_first_not_of(" \t") == std::string::npos)
                continue;
            auto ev = parse_event(*line);
            if (!said_hello_)
                check_first_line(*line, ev);
            if (ev) {
                log_.push(std::move(ev.value()));
                continue;
            }
            std::lock_guard lock{mu_};
            for (diagnostic const& d : ev.error())
                warnings_.push_back(describe_target() + ": " + describe(d));
        }
    }

    /// Scenario-format §3: the first line is `hello`. Anything else (a logger writing to stdout,
    /// a banner) ends start() at once, quoting the line, instead of a silent wait for hello.
    void check_first_line(std::string const& line, result<event> const& ev) {
        if (ev && ev.value().type == event_type::hello) {
            said_hello_ = true;
            return;
        }
        std::string const quoted{line.size() > 200 ? line.substr(0, 200) + "..." : line};
        {
            std::lock_guard lock{mu_};
            first_line_ = "\"" + quoted + "\" before hello (" +
                          (ev ? "a protocol message out of turn" : "not a JSON protocol message") +
                          "; stdout is for protocol lines only, logs go to stderr)";
        }
        said_hello_ = true; // only the first line decides
        bad_first_line_ = true;
        log_.notify();
    }

    bool send_line(std::string line) {
        line += '\n';
        std::lock_guard lock{write_mu_};
        if (in_fd_ < 0)
            return false;
        std::size_t off = 0;
        while (off < line.size()) {
            ssize_t const n = ::write(in_fd_, line.data() + off, line.size() - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return false; // EPIPE: the target is gone (SIGPIPE is ignored)
            off += static_cast<std::size_t>(n);
        }
        return true;
    }

    /// The exit status once the reader has seen the end (briefly waiting for it).
    std::string settle_exit_status() {
        log_.wait_until([](std::vector<event> const&) { return false; },
                        clock::now() + reap_grace + milliseconds{100});
        return exit_status();
    }

    bool reaped() const {
        std::lock_guard lock{mu_};
        return reaped_;
    }

    /// Tries to reap the child without blocking; true once it has exited.
    bool exited() const {
        std::lock_guard lock{mu_};
        if (reaped_)
            return true;
        int status = 0;
        pid_t const r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            wait_status_ = status;
        } else if (r < 0 && errno == ECHILD) {
            reaped_ = true; // someone else reaped it; the status is lost
        }
        return reaped_;
    }

    bool wait_exit(milliseconds timeout) {
        auto const deadline = clock::now() + timeout;
        while (!exited()) {
            if (clock::now() >= deadline)
                return false;
            std::this_thread::sleep_for(milliseconds{5});
        }
        return true;
    }

    /// True while a process of the target's group (the leader's pid) is left; zombies count
    /// until their new parent reaps them.
    bool group_alive() const { return ::kill(-pid_, 0) == 0 || errno == EPERM; }

    bool wait_group_gone(milliseconds timeout) const {
        auto const deadline = clock::now() + timeout;
        while (group_alive()) {
            if (clock::now() >= deadline)
                return false;
            std::this_thread::sleep_for(milliseconds{10});
        }
        return true;
    }

    /// Ends what the leader left in its group: the leader exited (on `exit`, or was killed), but
    /// a shell's `cmd &` or a worker it started may live on, ignoring SIGTERM (issue 19). The
    /// group's id stays reserved while any member lives, so the signal cannot reach a stranger.
    void end_group() {
        if (!group_alive())
            return;
        ::kill(-pid_, SIGTERM);
        if (wait_group_gone(term_grace))
            return;
        ::kill(-pid_, SIGKILL);
        wait_group_gone(milliseconds{1000}); // then only zombies waiting for init are left
    }

    void close_fd(int& fd) {
        std::lock_guard lock{write_mu_};
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
    }

    process_options opts_;
    pid_t pid_ = -1;
    int in_fd_ = -1;  // the target's stdin (we write)
    int out_fd_ = -1; // the target's stdout (the reader reads)
    std::thread reader_;
    std::atomic<bool> stop_reader_{false};
    bool stopped_ = false;
    event_log log_;
    hello_info hello_;
    long long idle_commands_ = 0; // ids of idle commands sent (never reused: a late answer to an
                                  // earlier one cannot end a later wait)
    std::size_t log_start_ = 0;   // where this start's part of the log file begins
    std::mutex write_mu_;         // guards in_fd_ writes
    mutable std::mutex mu_;       // guards the fields below
    mutable bool reaped_ = false;
    mutable int wait_status_ = 0;
    bool eof_ = false;
    std::vector<std::string> warnings_;
    std::string first_line_;                  // what was wrong with the first line, if anything
    bool said_hello_ = false;                 // the reader saw the first line (reader thread only)
    std::atomic<bool> bad_first_line_{false}; // the first line was not hello: start() fails
};

} // namespace

void signal_target_groups(int sig) {
    groups_signal.store(sig);
    for (std::atomic<pid_t>& slot : live_groups)
        if (pid_t const group = slot.load(); group > 0)
            ::kill(-group, sig);
}

void clear_target_group_signal() {
    groups_signal.store(0);
}

std::vector<std::string> shell_command(std::string const& line) {
    return {"/bin/sh", "-c", line};
}

std::unique_ptr<target> make_process_target(process_options opts) {
    return std::make_unique<process_target>(std::move(opts));
}

void ignore_sigpipe() {
    static std::once_flag once;
    std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

} // namespace lifecheck::protocol

// lifecheck-reference: the reference server behind the JSON-lines target protocol (scenario-format
// §3).
#include "harness/scenario/load.hpp"
#include "harness/trace/label.hpp"
#include "server_under_test/reference/engine/faults.hpp"
#include "server_under_test/reference/engine/lifecycle.hpp"
#include "server_under_test/reference/net/listener.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

namespace asio = boost::asio;
using namespace lifecheck;
using json = scenario::json;

constexpr char const* version = "0.1.0";

/// Protocol lines to stdout, batched: everything emitted during one turn of the io_context goes
/// out in one write() at the end of the turn (a request with eight hooks is one syscall, not
/// nine). Without an io_context attached, every line is written at once.
class line_writer {
public:
    void attach(asio::io_context* io) { io_ = io; }

    void line(std::string_view text) {
        buf_.append(text);
        end_line();
    }

    /// For a line written in place: append to this buffer, then call end_line().
    std::string& buffer() { return buf_; }

    void end_line() {
        buf_ += '\n';
        if (io_ == nullptr) {
            flush();
        } else if (!scheduled_) {
            scheduled_ = true;
            asio::post(*io_, [this] {
                scheduled_ = false;
                flush();
            });
        }
    }

    void flush() {
        std::size_t done = 0;
        while (done < buf_.size()) {
            ssize_t const n = ::write(STDOUT_FILENO, buf_.data() + done, buf_.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                std::_Exit(0); // the harness went away
            done += static_cast<std::size_t>(n);
        }
        buf_.clear();
    }

private:
    asio::io_context* io_ = nullptr;
    std::string buf_;
    bool scheduled_ = false;
};

line_writer out;
bool tracing = true; // --no-trace: no cb/end events at all (benchmarks measure what they cost)

void print(json const& j) {
    out.line(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

/// True when `s` can go into a JSON string as it is (printable ASCII without " and \\).
bool plain(std::string_view s) {
    for (char c : s)
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return false;
    return true;
}

/// Writes one engine event as a protocol line (scenario-format §3); the common all-ASCII case
/// without building a json object.
/// The socket options a scenario's app is served with: its timeouts and its dialect's
/// keepAliveTimeout.
net::connection_options connection_options_of(scenario::scenario const& sc) {
    net::connection_options opts;
    opts.connection_timeout_ms = sc.application.options.connection_timeout_ms;
    opts.request_timeout_ms = sc.application.options.request_timeout_ms;
    opts.keep_alive_timeout_s = net::keep_alive_timeout_s(sc.lang);
    return opts;
}

void print_event(engine::event const& e) {
    if (!tracing)
        return;
    bool const cb = e.what == engine::event::kind::cb;
    if (!plain(e.req) || (cb && (!plain(e.label) || !plain(e.phase) || !plain(e.scope)))) {
        if (cb)
            print({{"t", "cb"},
                   {"req", e.req},
                   {"label", e.label},
                   {"phase", e.phase},
                   {"scope", e.scope}});
        else
            print({{"t", "end"}, {"req", e.req}, {"status", e.status}, {"aborted", e.aborted}});
        return;
    }
    std::string& line = out.buffer(); // appended in place: no string per event
    if (cb) {
        line.append(R"({"t":"cb","req":")").append(e.req);
        line.append(R"(","label":")").append(e.label);
        line.append(R"(","phase":")").append(e.phase);
        line.append(R"(","scope":")").append(e.scope).append("\"}");
    } else {
        line.append(R"({"t":"end","req":")").append(e.req);
        char status[16];
        int const n = std::snprintf(status, sizeof status, "%d", e.status);
        line.append(R"(","status":)").append(status, static_cast<std::size_t>(n));
        line.append(R"(,"aborted":)").append(e.aborted ? "true}" : "false}");
    }
    out.end_line();
}

/// One loaded app: its loop, engine and listener.
struct loaded {
    std::unique_ptr<engine::loop> ev;
    std::unique_ptr<engine::app_server> srv;
    std::unique_ptr<net::listener> lis;
};

class target {
public:
    target(asio::io_context& io, engine::fault_set faults)
        : io_{io}
        , in_{io, ::dup(STDIN_FILENO)}
        , faults_{faults} {}

    void run() {
        json hello = {{"t", "hello"},
                      {"target", "reference"},
                      {"version", version},
                      {"dialects", json::array({"fastify", "koa"})},
                      {"features",
                       json::array({"streams",
                                    "webStreams",
                                    "responses",
                                    "aborts",
                                    "timeouts",
                                    "hijack",
                                    "virtual-clock",
                                    "idle"})}};
        print(hello);
        read();
    }

private:
    void read() {
        asio::async_read_until(in_, buf_, '\n', [this](boost::system::error_code ec, std::size_t) {
            if (ec) {
                out.flush();
                std::exit(0); // the harness went away
            }
            std::istream is{&buf_};
            std::string line;
            std::getline(is, line);
            // Handle the command after the completions already queued: a connection the client
            // opened before the harness wrote this line may be accepted but not yet handled.
            asio::post(io_, [this, line = std::move(line)] {
                handle(line);
                read();
            });
        });
    }

    void handle(std::string const& line) {
        if (line.empty())
            return;
        json cmd = json::parse(line, nullptr, false);
        if (cmd.is_discarded() || !cmd.is_object() || !cmd.contains("cmd")) {
            std::cerr << "lifecheck-reference: ignoring a line that is not a command: " << line
                      << '\n';
            return;
        }
        std::string const what = cmd["cmd"].get<std::string>();
        if (what == "load") {
            idle_waiters_.clear(); // a wait the harness gave up on
            load(cmd);
        } else if (what == "idle") {
            when_idle(cmd.value("id", 0LL));
        } else if (what == "close") {
            close([] { print({{"t", "closed"}}); });
        } else if (what == "exit") {
            close([] {
                out.flush();
                std::exit(0);
            });
        }
    }

    void load(json const& cmd) {
        close([this, cmd] { build(cmd); });
    }

    void build(json const& cmd) {
        std::string const dialect = cmd.value("dialect", "fastify");
        // With a `startup` object the app may hold what Fastify refuses at start (a duplicate
        // route, §1.8): this server answers such an app with startupError.
        json doc = {{"description", "loaded by lifecheck-reference"},
                    {"startup", json::object()},
                    {"dialect", dialect},
                    {"app", cmd.value("app", json::object())},
                    {"steps", json::array({json{{"sleepMs", 0}}})}};
        auto sc = scenario::from_json(doc, "<load>", cmd.value("scenario", "load"));
        if (!sc.has_value()) {
            std::string why;
            for (auto const& d : sc.error())
                why += describe(d) + "; ";
            print({{"t", "unsupported"}, {"what", "invalid app: " + why}});
            return;
        }
        app_ = sc.value().application;
        auto l = std::make_unique<loaded>();
        l->ev = std::make_unique<engine::loop>();
        l->srv = engine::make_server(
            app_, sc.value().lang, *l->ev, [](engine::event const& e) { emit(e); }, faults_);
        if (!l->srv) {
            print({{"t", "unsupported"},
                   {"what",
                    engine::unsupported(app_, sc.value().lang).value_or("dialect " + dialect)}});
            return;
        }
        net::connection_options const opts = connection_options_of(sc.value());
        l->lis = std::make_unique<net::listener>(io_, *l->srv, *l->ev, opts);
        current_ = std::move(l);
        loaded* cur = current_.get();
        cur->srv->ready([this, cur](std::optional<engine::startup_failure> const& refused) {
            if (!refused) {
                print({{"t", "ready"}, {"port", cur->lis->port()}});
                return;
            }
            // scenario-format §3 `startupError` (v2.5): Fastify refuses this app; drop it (no
            // close hooks run for an app that never started) and stay up for the next load.
            json e = {{"t", "startupError"}};
            if (refused->code)
                e["code"] = *refused->code;
            e["message"] = refused->message;
            print(e);
            asio::post(io_, [this, cur] {
                if (current_.get() == cur)
                    retire(std::move(current_));
            });
        });
        cur->lis->pump();
    }

    static void emit(engine::event const& e) { print_event(e); }

    /// v2.6 (§3.1, D57): answers {"t":"idle","id":ID} once the app was quiescent (listener::
    /// quiescent) at two checks a millisecond apart, so I/O that was ready in between (a request
    /// written just before the command) has been handled first.
    void when_idle(long long id) {
        if (current_)
            current_->lis->take_pending();
        idle_waiters_.push_back(id);
        if (idle_waiters_.size() == 1) {
            quiet_checks_ = 0;
            check_idle();
        }
    }

    void check_idle() {
        idle_timer_.expires_after(std::chrono::milliseconds{1});
        idle_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec || idle_waiters_.empty())
                return;
            // A closed app's timers still run (D23): they count until it is reaped.
            bool quiet = !current_ || current_->lis->quiescent();
            for (retired const& r : retired_)
                quiet = quiet && r.app->lis->quiescent();
            quiet_checks_ = quiet ? quiet_checks_ + 1 : 0;
            if (quiet_checks_ < 2) {
                check_idle();
                return;
            }
            for (long long const id : idle_waiters_)
                print({{"t", "idle"}, {"id", id}});
            idle_waiters_.clear();
        });
    }

    void close(std::function<void()> done) {
        if (!current_) {
            done();
            return;
        }
        loaded* cur = current_.get();
        cur->lis->sync_clock(); // preClose/onClose delays count from the close command
        cur->lis->take_pending();
        cur->srv->close(
            [cur](std::function<void()> drained) { cur->lis->shutdown(std::move(drained)); },
            [this, done] {
                // Retire the app after this turn of the loop has unwound. Node keeps the
                // timers of requests still in their lifecycle after fastify.close(): a hook
                // delay that began before the close still runs its callbacks (decisions.md D23).
                asio::post(io_, [this, done] {
                    retire(std::move(current_));
                    done();
                });
            });
        cur->lis->pump();
    }

    /// A closed app is destroyed once its loop has nothing left to run (no timer, tick or
    /// microtask), or a minute after its close at the latest; until then its listener's timer
    /// keeps pumping it.
    void retire(std::unique_ptr<loaded> app) {
        if (!app || app->ev->idle())
            return;
        retired_.push_back(
            {std::chrono::steady_clock::now() + std::chrono::minutes{1}, std::move(app)});
        if (retired_.size() == 1)
            reap_later();
    }

    void reap_later() {
        reaper_.expires_after(std::chrono::milliseconds{20});
        reaper_.async_wait([this](boost::system::error_code ec) {
            if (ec)
                return;
            auto const now = std::chrono::steady_clock::now();
            std::erase_if(retired_,
                          [now](retired const& r) { return r.app->ev->idle() || now >= r.until; });
            if (!retired_.empty())
                reap_later();
        });
    }

    asio::io_context& io_;
    asio::posix::stream_descriptor in_;
    asio::streambuf buf_;
    engine::fault_set faults_;
    scenario::app app_;
    std::unique_ptr<loaded> current_;

    struct retired {
        std::chrono::steady_clock::time_point until;
        std::unique_ptr<loaded> app;
    };

    std::vector<retired> retired_; // closed, with timers still to run
    asio::steady_timer reaper_{io_};
    std::vector<long long> idle_waiters_; // ids of idle commands not answered yet
    int quiet_checks_ = 0;                // consecutive checks that found the app quiescent
    asio::steady_timer idle_timer_{io_};
};

/// `--serve FILE`: one scenario's app on a fixed port, without the harness (benchmarks, curl).
int serve_file(std::string const& file, unsigned short port, engine::fault_set faults) {
    auto sc = scenario::load_file(file);
    if (!sc.has_value()) {
        for (auto const& d : sc.error())
            std::cerr << "lifecheck-reference: " << describe(d) << '\n';
        return 2;
    }
    asio::io_context io;
    out.attach(&io);
    engine::loop ev;
    auto srv = engine::make_server(
        sc.value().application,
        sc.value().lang,
        ev,
        [](engine::event const& e) { print_event(e); },
        faults);
    if (!srv) {
        std::cerr << "lifecheck-reference: " << file << ": this app cannot be served: "
                  << engine::unsupported(sc.value().application, sc.value().lang)
                         .value_or("unknown dialect")
                  << '\n';
        return 2;
    }
    net::connection_options const opts = connection_options_of(sc.value());
    std::unique_ptr<net::listener> lis;
    try {
        lis = std::make_unique<net::listener>(io, *srv, ev, opts, port);
    } catch (std::exception const& e) {
        std::cerr << "lifecheck-reference: cannot listen on port " << port << ": " << e.what()
                  << '\n';
        return 2;
    }
    int refused = 0;
    srv->ready([&lis, &io, &refused](std::optional<engine::startup_failure> const& failure) {
        if (failure) {
            std::cerr << "lifecheck-reference: Fastify refuses this app at start: "
                      << (failure->code ? *failure->code + ": " : "") << failure->message << '\n';
            refused = 1;
            io.stop();
            return;
        }
        std::cerr << "listening on http://127.0.0.1:" << lis->port() << std::endl;
    });
    lis->pump();
    asio::signal_set stop{io, SIGINT, SIGTERM};
    stop.async_wait([&io](boost::system::error_code, int) { io.stop(); });
    if (refused == 0)
        io.run();
    out.flush();
    return refused;
}

void usage(std::ostream& os) {
    os << "usage: lifecheck-reference [--faults NAME[,NAME...]] [--help]\n"
          "       lifecheck-reference --serve FILE [--port N] [--no-trace] [--faults ...]\n"
          "\n"
          "The lifecheck reference server. Speaks the JSON-lines target protocol of\n"
          "scenario-format.md §3 on stdin/stdout: load / close / idle / exit commands in,\n"
          "hello / ready / cb / end / unsupported / closed / idle events out. Logs go to stderr.\n"
          "\n"
          "  --serve FILE   no protocol: serve scenario FILE's app on 127.0.0.1 (bench/, curl),\n"
          "                 print `listening on URL` to stderr and cb/end events to stdout\n"
          "  --port N       with --serve: the port (default: any free port)\n"
          "  --no-trace     send no cb/end events (benchmarks: what tracing costs); a harness\n"
          "                 then sees every request hang\n"
          "  --faults LIST  test-only seeded faults (builds with LIFECHECK_FAULTS):\n";
    for (auto const& [name, f] : engine::all_faults())
        os << "                 " << name << '\n';
    os << "\nexit codes: 0 on exit/EOF, 2 on bad usage\n";
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    engine::fault_set faults = 0;
    std::optional<std::string> serve;
    long port = 0;
    for (int i = 1; i < argc; ++i) {
        std::string const a = argv[i];
        if (a == "--help" || a == "-h") {
            usage(std::cout);
            return 0;
        }
        if (a == "--serve" && i + 1 < argc) {
            serve = argv[++i];
            continue;
        }
        if (a == "--port" && i + 1 < argc) {
            char* end = nullptr;
            port = std::strtol(argv[++i], &end, 10);
            if (*end != '\0' || port < 0 || port > 65535) {
                std::cerr << "lifecheck-reference: --port wants 0..65535, got '" << argv[i]
                          << "'\n";
                return 2;
            }
            continue;
        }
        if (a == "--no-trace") {
            tracing = false;
            continue;
        }
        if (a == "--faults" && i + 1 < argc) {
            auto f = engine::parse_faults(argv[++i]);
            if (!f) {
                std::cerr << "lifecheck-reference: unknown fault in '" << argv[i] << "'\n";
                usage(std::cerr);
                return 2;
            }
            faults = *f;
            continue;
        }
        std::cerr << "lifecheck-reference: unknown argument '" << a << "'\n";
        usage(std::cerr);
        return 2;
    }
    if (serve)
        return serve_file(*serve, static_cast<unsigned short>(port), faults);
    asio::io_context io;
    out.attach(&io);
    target t{io, faults};
    t.run();
    io.run();
    return 0;
}

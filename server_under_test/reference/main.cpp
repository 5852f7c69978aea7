// lifecheck-reference: the reference server behind the JSON-lines target protocol (spec §3).
#include "harness/scenario/load.hpp"
#include "harness/trace/label.hpp"
#include "server_under_test/reference/engine/faults.hpp"
#include "server_under_test/reference/engine/koa_onion.hpp"
#include "server_under_test/reference/engine/lifecycle.hpp"
#include "server_under_test/reference/net/listener.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <istream>
#include <memory>
#include <optional>
#include <string>

namespace {

namespace asio = boost::asio;
using namespace lifecheck;
using json = scenario::json;

constexpr char const* version = "0.1.0";

void print(json const& j) {
    std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
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
                       json::array({"streams", "webStreams", "responses", "aborts", "timeouts",
                                    "hijack", "virtual-clock"})}};
        print(hello);
        read();
    }

private:
    void read() {
        asio::async_read_until(in_, buf_, '\n', [this](boost::system::error_code ec, std::size_t) {
            if (ec) {
                std::exit(0); // the harness went away
            }
            std::istream is{&buf_};
            std::string line;
            std::getline(is, line);
            handle(line);
            read();
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
        if (what == "load")
            load(cmd);
        else if (what == "close")
            close([] { print({{"t", "closed"}}); });
        else if (what == "exit")
            close([] { std::exit(0); });
    }

    void load(json const& cmd) {
        close([this, cmd] { build(cmd); });
    }

    void build(json const& cmd) {
        std::string const dialect = cmd.value("dialect", "fastify");
        json doc = {{"description", "loaded by lifecheck-reference"},
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
                   {"what", engine::koa_unsupported(app_).value_or("dialect " + dialect)}});
            return;
        }
        net::connection_options opts;
        opts.connection_timeout_ms = app_.options.connection_timeout_ms;
        opts.request_timeout_ms = app_.options.request_timeout_ms;
        l->lis = std::make_unique<net::listener>(io_, *l->srv, *l->ev, opts);
        current_ = std::move(l);
        loaded* cur = current_.get();
        cur->srv->ready([cur] { print({{"t", "ready"}, {"port", cur->lis->port()}}); });
        cur->lis->pump();
    }

    static void emit(engine::event const& e) {
        if (e.what == engine::event::kind::cb)
            print({{"t", "cb"},
                   {"req", e.req},
                   {"label", e.label},
                   {"phase", e.phase},
                   {"scope", e.scope}});
        else
            print({{"t", "end"}, {"req", e.req}, {"status", e.status}, {"aborted", e.aborted}});
    }

    void close(std::function<void()> done) {
        if (!current_) {
            done();
            return;
        }
        loaded* cur = current_.get();
        cur->srv->close(
            [cur](std::function<void()> drained) { cur->lis->shutdown(std::move(drained)); },
            [this, done] {
                // Destroy the app after this turn of the loop has unwound.
                asio::post(io_, [this, done] {
                    current_.reset();
                    done();
                });
            });
        cur->lis->pump();
    }

    asio::io_context& io_;
    asio::posix::stream_descriptor in_;
    asio::streambuf buf_;
    engine::fault_set faults_;
    scenario::app app_;
    std::unique_ptr<loaded> current_;
};

void usage(std::ostream& os) {
    os << "usage: lifecheck-reference [--faults NAME[,NAME...]] [--help]\n"
          "\n"
          "The lifecheck reference server. Speaks the JSON-lines target protocol of\n"
          "scenario-format.md §3 on stdin/stdout: load / close / exit commands in,\n"
          "hello / ready / cb / end / unsupported / closed events out. Logs go to stderr.\n"
          "\n"
          "  --faults LIST  test-only seeded faults (builds with LIFECHECK_FAULTS):\n";
    for (auto const& [name, f] : engine::all_faults())
        os << "                 " << name << '\n';
    os << "\nexit codes: 0 on exit/EOF, 2 on bad usage\n";
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    engine::fault_set faults = 0;
    for (int i = 1; i < argc; ++i) {
        std::string const a = argv[i];
        if (a == "--help" || a == "-h") {
            usage(std::cout);
            return 0;
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
    asio::io_context io;
    target t{io, faults};
    t.run();
    io.run();
    return 0;
}

// `lifecheck serve`: loads one scenario's app into a target and prints its events until Ctrl-C.
#include "harness/cli/args.hpp"
#include "harness/cli/cli.hpp"
#include "harness/protocol/messages.hpp"
#include "harness/run/runner.hpp"
#include "harness/scenario/load.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <csignal>
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>

#include <pthread.h>

namespace lifecheck::cli {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr char const* serve_usage = R"(usage: lifecheck serve FILE [--port N] [--target T]

Starts the target, loads the app of scenario FILE, prints `listening on http://127.0.0.1:PORT`
and then every event the target reports, one JSON line each, until Ctrl-C. For poking the app
with curl: curl -H 'x-lifecheck-req: r1' http://127.0.0.1:PORT/...

options:
  --target T   reference (default), fastify[@VERSION] or a command line
  --port N     listen on this port (a loopback relay to the target's own port)
  --verbose    pass the target's stderr through (default: reports/logs/)
  --print-load print the protocol's `load` line for FILE and exit (for driving a target by
               hand or from a script: bench/throughput.sh)
  -h, --help   show this help

exit codes: 0 stopped by Ctrl-C, 1 the target died, 2 invalid scenario or usage
)";

/// Relays every connection on 127.0.0.1:listen_port to 127.0.0.1:target_port, byte for byte,
/// half-closes included.
class relay {
public:
    relay(unsigned short listen_port, unsigned short target_port)
        : acceptor_{io_, tcp::endpoint{asio::ip::address_v4::loopback(), listen_port}}
        , target_port_{target_port} {
        thread_ = std::thread{[this] {
            accept_loop();
        }};
    }

    ~relay() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        thread_.detach(); // blocked in accept; the process is exiting
    }

private:
    void accept_loop() {
        for (;;) {
            auto client = std::make_shared<tcp::socket>(io_);
            boost::system::error_code ec;
            acceptor_.accept(*client, ec);
            if (ec)
                return;
            auto upstream = std::make_shared<tcp::socket>(io_);
            upstream->connect({asio::ip::address_v4::loopback(), target_port_}, ec);
            if (ec)
                continue;
            std::thread{pump, client, upstream}.detach();
            std::thread{pump, upstream, client}.detach();
        }
    }

    static void pump(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
        char buf[16384];
        boost::system::error_code ec;
        for (;;) {
            std::size_t const n = from->read_some(asio::buffer(buf), ec);
            if (ec) {
                to->shutdown(tcp::socket::shutdown_send, ec);
                return;
            }
            asio::write(*to, asio::buffer(buf, n), ec);
            if (ec)
                return;
        }
    }

    asio::io_context io_;
    tcp::acceptor acceptor_;
    unsigned short target_port_;
    std::thread thread_;
};

/// Prints events from index `from` on; returns the new index.
std::size_t print_events(protocol::target const& t, std::size_t from) {
    auto const events = t.events().snapshot(from);
    for (protocol::event const& e : events)
        std::cout << protocol::encode(e) << '\n';
    std::cout.flush();
    return from + events.size();
}

} // namespace

int serve_command(std::vector<std::string> const& args) {
    std::string file;
    std::string target_text = "reference";
    std::optional<long long> port;
    bool verbose = false;
    bool print_load = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string err;
        std::string v;
        auto take = [&](char const* name) {
            return take_option(args, i, name, v, err);
        };
        if (args[i] == "-h" || args[i] == "--help") {
            std::cout << serve_usage;
            return exit_pass;
        }
        if (args[i] == "--verbose") {
            verbose = true;
        } else if (args[i] == "--print-load") {
            print_load = true;
        } else if (take("--target")) {
            target_text = v;
        } else if (take("--port")) {
            port = parse_count(v);
            if (!port || *port < 1 || *port > 65535)
                return usage_error(
                    "serve", "--port wants 1..65535, got \"" + v + "\"", serve_usage);
        } else if (!err.empty()) {
            return usage_error("serve", err, serve_usage);
        } else if (args[i].size() > 1 && args[i][0] == '-') {
            return usage_error("serve", "unknown option " + args[i], serve_usage);
        } else if (file.empty()) {
            file = args[i];
        } else {
            return usage_error("serve", "one scenario file only", serve_usage);
        }
    }
    if (file.empty())
        return usage_error("serve", "no scenario file given", serve_usage);

    auto const sc = scenario::load_file(file);
    if (!sc) {
        for (diagnostic const& d : sc.error())
            std::cerr << describe(d) << '\n';
        return exit_usage;
    }
    if (print_load) {
        std::cout << protocol::load_command(
                         sc->id, scenario::app_to_json(sc->application, sc->lang), sc->lang)
                  << '\n';
        return exit_pass;
    }
    auto const spec = run::resolve_target(target_text, run::self_exe());
    if (!spec)
        return usage_error(
            "serve", "unknown target: " + describe(spec.error().front()), serve_usage);

    // Ctrl-C and SIGTERM are waited for, not handled: block them before any thread starts.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    run::options opts;
    opts.verbose = verbose;
    run::runner rn{spec->text, run::process_factory(*spec, opts, 0), opts};
    protocol::target* t = rn.target();
    if (!t) {
        std::cerr << "lifecheck serve: cannot start target " << spec->text << ": "
                  << describe(rn.ensure_started().error().front()) << '\n';
        return exit_usage;
    }
    auto const loaded = t->load(
        sc->id, scenario::app_to_json(sc->application, sc->lang), sc->lang, opts.load_timeout);
    if (loaded.status != protocol::load_status::ready) {
        std::cerr << "lifecheck serve: the target did not load the app: "
                  << (loaded.status == protocol::load_status::died ? t->exit_status()
                                                                   : loaded.detail)
                  << '\n';
        return loaded.status == protocol::load_status::unsupported ? exit_usage : exit_fail;
    }
    std::unique_ptr<relay> forward;
    int shown_port = loaded.port;
    if (port && *port != loaded.port) {
        try {
            forward = std::make_unique<relay>(static_cast<unsigned short>(*port),
                                              static_cast<unsigned short>(loaded.port));
            shown_port = static_cast<int>(*port);
        } catch (std::exception const& e) {
            std::cerr << "lifecheck serve: cannot listen on port " << *port << ": " << e.what()
                      << '\n';
            return exit_usage;
        }
    }
    std::cout << "listening on http://127.0.0.1:" << shown_port << std::endl;

    std::size_t seen = 0;
    for (;;) {
        seen = print_events(*t, seen);
        for (std::string const& w : t->take_warnings())
            std::cerr << "warning: " << w << '\n';
        if (!t->alive()) {
            std::cerr << "lifecheck serve: the target " << t->exit_status() << '\n';
            return exit_fail;
        }
        timespec const tick{0, 100 * 1000 * 1000};
        if (sigtimedwait(&stop_signals, nullptr, &tick) > 0)
            break;
    }
    auto const closed = t->close(opts.deadline);
    print_events(*t, seen);
    rn.stop();
    return closed.status == protocol::close_status::died ? exit_fail : exit_pass;
}

} // namespace lifecheck::cli

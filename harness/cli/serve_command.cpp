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

int serve_command(parsed_args const& p) {
    std::string const file = p.operands.front();
    std::optional<long long> const port = p.count("--port");
    bool const print_load = p.has("--print-load");

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
    auto const specs = resolve_targets("serve", {p.text("--target", "reference")});
    if (!specs)
        return exit_usage;
    run::target_spec const* spec = &specs->front();

    // Ctrl-C and SIGTERM are waited for, not handled: block them before any thread starts.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    run::options const opts = runner_options(p);
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
                      : loaded.code ? *loaded.code + ": " + loaded.detail
                                    : loaded.detail)
                  << '\n';
        return loaded.status == protocol::load_status::unsupported ||
                       loaded.status == protocol::load_status::load_error
                   ? exit_usage
                   : exit_fail;
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

// The ceiling for any Boost.Beast server on this machine: a bare single-threaded keep-alive
// server answering every request with {"hello":"world"} (bench/throughput.sh runs it beside the
// reference server and real Fastify). No lifecycle, no tracing, no allocation it can avoid.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket s)
        : stream_{std::move(s)} {}

    void read() {
        req_ = {};
        http::async_read(
            stream_, buf_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (!ec)
                    self->answer();
            });
    }

private:
    void answer() {
        res_ = {http::status::ok, req_.version()};
        res_.set(http::field::content_type, "application/json; charset=utf-8");
        res_.keep_alive(req_.keep_alive());
        res_.body() = R"({"hello":"world"})";
        res_.prepare_payload();
        http::async_write(
            stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (!ec && self->res_.keep_alive())
                    self->read();
            });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buf_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;
};

void accept(tcp::acceptor& a) {
    a.async_accept([&a](beast::error_code ec, tcp::socket s) {
        if (!ec) {
            s.set_option(tcp::no_delay{true});
            std::make_shared<session>(std::move(s))->read();
        }
        accept(a);
    });
}

} // namespace

int main(int argc, char** argv) {
    unsigned short const port = argc > 1 ? static_cast<unsigned short>(std::atoi(argv[1])) : 0;
    asio::io_context io{1};
    tcp::acceptor a{io, {asio::ip::make_address("127.0.0.1"), port}};
    std::cerr << "listening on http://127.0.0.1:" << a.local_endpoint().port() << std::endl;
    accept(a);
    asio::signal_set stop{io, SIGINT, SIGTERM};
    stop.async_wait([&io](beast::error_code, int) { io.stop(); });
    io.run();
}

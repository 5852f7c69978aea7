// Resends one locked/consumed Response N times to lifecheck-reference and prints its RSS
// before/after.
//
// Issue 4's "flat memory" figure: the server must answer every resend through the error path
// (500) and its resident set must not grow with the number of requests.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace {

long rss_kib(pid_t pid) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

char const* const app = R"({"cmd":"load","scenario":"bench/resend","app":{
  "hooks":{"onSend":[{"label":"onSend@root"}],"onError":[{"label":"onError@root"}]},
  "errorHandler":{"label":"errorHandler@root","do":"send","status":500,"payload":{"kind":"json","value":{"resent":true}}},
  "routes":[{"method":"GET","url":"/","handler":{"label":"handler","do":"send",
    "payload":{"kind":"response","shared":"r","headers":{"x-from-response":"1"},
               "body":{"kind":"webStream","chunks":["once"],"locked":true}}}}]}})";

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string{argv[1]} == "--help") {
        std::cout << "usage: lifecheck_bench_resend PATH/TO/lifecheck-reference [N=10000]\n"
                     "Loads an app whose handler sends one shared Response with a locked body,\n"
                     "sends it N times on one keep-alive connection and prints the server's RSS.\n";
        return argc < 2 ? 2 : 0;
    }
    int const n = argc > 2 ? std::atoi(argv[2]) : 10000;
    int to_child[2];
    int from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0)
        return 3;
    pid_t const pid = fork();
    if (pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[1]);
        close(from_child[0]);
        execl(argv[1], argv[1], static_cast<char*>(nullptr));
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    FILE* out = fdopen(to_child[1], "w");
    FILE* in = fdopen(from_child[0], "r");
    std::string line{app};
    for (char& c : line)
        if (c == '\n')
            c = ' '; // the protocol is one JSON object per line
    std::fprintf(out, "%s\n", line.c_str());
    std::fflush(out);
    int port = 0;
    char buf[4096];
    while (port == 0 && std::fgets(buf, sizeof buf, in)) {
        std::string const event = buf;
        auto p = event.find("\"port\":");
        if (p != std::string::npos)
            port = std::atoi(event.c_str() + p + 7);
    }
    if (port == 0) {
        std::cerr << "lifecheck-reference did not report a port\n";
        return 3;
    }
    // Drain the event stream so the server never blocks on a full pipe.
    std::thread([in] {
        char b[4096];
        while (std::fgets(b, sizeof b, in)) {
        }
    }).detach();

    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket sock{io};
    sock.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    asio::streambuf rb;
    auto request = [&](int i) {
        std::string const req = "GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-lifecheck-req: r" +
                                std::to_string(i) + "\r\n\r\n";
        asio::write(sock, asio::buffer(req));
        asio::read_until(sock, rb, "\r\n\r\n");
        std::istream is{&rb};
        std::string status_line;
        std::getline(is, status_line);
        std::size_t length = 0;
        std::string h;
        while (std::getline(is, h) && h != "\r")
            if (h.rfind("content-length:", 0) == 0)
                length = std::strtoul(h.c_str() + 15, nullptr, 10);
        if (rb.size() < length)
            asio::read(sock, rb, asio::transfer_exactly(length - rb.size()));
        rb.consume(length);
        return status_line;
    };
    auto const warm = request(0);
    for (int i = 1; i <= 100; ++i)
        request(i);
    long const before = rss_kib(pid);
    auto const t0 = std::chrono::steady_clock::now();
    int errors = 0;
    for (int i = 101; i <= n + 100; ++i)
        if (request(i).find(" 500 ") == std::string::npos)
            ++errors;
    double const secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    long const after = rss_kib(pid);
    int status = 0;
    bool const alive = waitpid(pid, &status, WNOHANG) == 0;
    std::printf("first send: %s\n", warm.c_str());
    std::printf(
        "resends: %d in %.2f s (%.0f req/s), non-500 answers: %d\n", n, secs, n / secs, errors);
    std::printf("server RSS before: %ld KiB, after: %ld KiB, growth: %ld KiB; alive: %s\n",
                before,
                after,
                after - before,
                alive ? "yes" : "no");
    std::fprintf(out, "{\"cmd\":\"exit\"}\n");
    std::fflush(out);
    waitpid(pid, &status, 0);
    return alive && errors == 0 ? 0 : 1;
}

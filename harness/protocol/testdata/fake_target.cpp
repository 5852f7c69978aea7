// A tiny target for tests: speaks the JSON-lines protocol and serves a canned HTTP response;
// --mode makes it misbehave (die, hang, stay silent, print garbage) so failures are real.
//
// Modes: ok (default), unsupported, load-error (answers every load with
// loadError), no-hello, silent-load, die-on-load (exits 7),
// killed-on-load (SIGKILL: sanitizers would catch a SIGSEGV and exit 1 instead),
// die-on-request (exits 3 when a request arrives), hang-request (cb, then nothing), hang-slow
// (hang-request for URLs starting /slow, ok for the rest: a run with slow scenarios), garbage
// (bad lines after hello), banner (a log line on stdout and one on stderr, then no hello: not a
// target), idle (v2.6: hello lists "idle"; `idle` is answered once no request is in flight),
// idle-late (answers `idle` at once, while onResponse@root comes 40 ms after `end`; `closed`
// waits 120 ms: an idle that comes too early). Every request: cb onRequest@root, cb handler,
// the response `{"ok":true}` (200, application/json, keep-alive), end, then cb onResponse@root.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

std::mutex out_mu;
std::string mode = "ok";
std::atomic<int> listen_fd{-1};
std::atomic<int> in_flight{0}; // requests between their head and their last event

bool idle_mode() {
    return mode == "idle" || mode == "idle-late";
}

/// The id of an idle command line ({"cmd":"idle","id":N}).
std::string idle_id(std::string const& line) {
    auto const at = line.find(R"("id":)");
    if (at == std::string::npos)
        return "0";
    auto const from = at + 5;
    auto const to = line.find_first_not_of("0123456789", from);
    return line.substr(from, to - from);
}

void emit(std::string const& line) {
    std::lock_guard lock{out_mu};
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

std::string header_value(std::string const& head, std::string const& name) {
    std::string lower = head;
    for (char& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto const at = lower.find("\n" + name + ":");
    if (at == std::string::npos)
        return "";
    auto start = at + name.size() + 2;
    while (start < head.size() && head[start] == ' ')
        ++start;
    auto const end = head.find('\r', start);
    return head.substr(start, end - start);
}

bool send_all(int fd, std::string const& s) {
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t const n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

void serve_connection(int fd) {
    std::string buf;
    char chunk[4096];
    int anonymous = 0;
    for (;;) {
        auto const end = buf.find("\r\n\r\n");
        if (end == std::string::npos) {
            ssize_t const n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0)
                break;
            buf.append(chunk, static_cast<std::size_t>(n));
            continue;
        }
        std::string const head = buf.substr(0, end + 4);
        std::string const length = header_value(head, "content-length");
        std::size_t const body = length.empty() ? 0 : std::stoul(length);
        while (buf.size() < end + 4 + body) {
            ssize_t const n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0)
                break;
            buf.append(chunk, static_cast<std::size_t>(n));
        }
        buf.erase(0, std::min(buf.size(), end + 4 + body));
        std::string id = header_value(head, "x-lifecheck-req");
        if (id.empty())
            id = "t" + std::to_string(++anonymous);
        if (mode == "die-on-request")
            std::_Exit(3);
        ++in_flight;
        emit(R"({"t":"cb","req":")" + id +
             R"(","label":"onRequest@root","phase":"onRequest","scope":"root"})");
        bool const slow = head.rfind("GET /slow", 0) == 0 || head.rfind("POST /slow", 0) == 0;
        if (mode == "hang-request" || (mode == "hang-slow" && slow))
            return; // never answers, never ends; the connection stays open
        emit(R"({"t":"cb","req":")" + id +
             R"(","label":"handler","phase":"handler","scope":"root"})");
        std::string const payload = R"({"ok":true})";
        send_all(fd,
                 "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n"
                 "content-length: " +
                     std::to_string(payload.size()) + "\r\n\r\n" + payload);
        emit(R"({"t":"end","req":")" + id + R"(","status":200,"aborted":false})");
        if (mode == "idle-late") {
            --in_flight; // says idle too early: onResponse still to come
            std::this_thread::sleep_for(std::chrono::milliseconds{40});
        }
        emit(R"({"t":"cb","req":")" + id +
             R"(","label":"onResponse@root","phase":"onResponse","scope":"root"})");
        if (mode != "idle-late")
            --in_flight;
    }
    ::close(fd);
}

int listen_on_free_port() {
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0)
        std::_Exit(4);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    listen_fd = fd;
    std::thread{[fd] {
        for (;;) {
            int const c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0)
                return;
            std::thread{serve_connection, c}.detach();
        }
    }}.detach();
    return ntohs(addr.sin_port);
}

void close_listener() {
    int const fd = listen_fd.exchange(-1);
    if (fd >= 0) {
        ::shutdown(fd, SHUT_RDWR);
        ::close(fd);
    }
}

} // namespace

int main(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string{argv[i]} == "--mode")
            mode = argv[i + 1];
    if (mode == "no-hello") {
        std::this_thread::sleep_for(std::chrono::seconds{60});
        return 0;
    }
    if (mode == "banner") {
        std::fputs("fake: listening, logger on stdout\n", stderr);
        emit("Server listening at http://127.0.0.1:3000");
        for (std::string ignored; std::getline(std::cin, ignored);) {
        }
        return 0; // a server that is not a lifecheck target: never says hello
    }
    emit(std::string{R"({"t":"hello","target":"fake","version":"1.2.3","dialects":["fastify"],)"} +
         (idle_mode() ? R"("features":["idle"]})" : R"("features":[]})"));
    if (mode == "garbage") {
        emit("this is not json");
        emit(R"({"t":"cb","label":"no request id"})");
    }
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.find(R"("cmd":"load")") != std::string::npos) {
            if (mode == "silent-load")
                continue;
            if (mode == "die-on-load") {
                std::fputs("fake: cannot load the app, dying\n", stderr);
                return 7;
            }
            if (mode == "killed-on-load")
                std::raise(SIGKILL);
            if (mode == "unsupported") {
                emit(R"({"t":"unsupported","what":"everything"})");
                continue;
            }
            if (mode == "load-error") {
                emit(R"({"t":"loadError","what":"npm plugin 'x' is not installed"})");
                continue;
            }
            close_listener();
            emit(R"({"t":"ready","port":)" + std::to_string(listen_on_free_port()) + "}");
        } else if (line.find(R"("cmd":"idle")") != std::string::npos && idle_mode()) {
            while (in_flight.load() > 0)
                std::this_thread::sleep_for(std::chrono::milliseconds{1});
            emit(R"({"t":"idle","id":)" + idle_id(line) + "}");
        } else if (line.find(R"("cmd":"close")") != std::string::npos) {
            if (mode == "idle-late")
                std::this_thread::sleep_for(std::chrono::milliseconds{120});
            close_listener();
            emit(R"({"t":"closed"})");
        } else if (line.find(R"("cmd":"exit")") != std::string::npos) {
            return 0;
        }
    }
    return 0;
}

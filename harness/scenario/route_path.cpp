// Fastify 5's rule for the paths a prefix, a route and a not-found handler are registered under.
#include "harness/scenario/route_path.hpp"

namespace lifecheck::scenario {

namespace {

bool ends_with_slash(std::string_view s) {
    return !s.empty() && s.back() == '/';
}

/// Fastify 5.12.8 lib/route.js:251-280 route(): the pieces addNewRoute() appends to the prefix.
std::vector<std::string>
pieces(std::string_view prefix, std::string_view url, std::string_view method) {
    // `if (path === '/' && prefix.length > 0 && opts.method !== 'HEAD')`, case 'both':
    // addNewRoute({ path: '' }), then addNewRoute({ path, prefixing: true }).
    if (url == "/" && !prefix.empty() && method != "HEAD")
        return {"", "/"};
    // `else if (path[0] === '/' && prefix.endsWith('/'))`: addNewRoute({ path: path.slice(1) }).
    if (!url.empty() && url.front() == '/' && ends_with_slash(prefix))
        return {std::string{url.substr(1)}};
    return {std::string{url}}; // addNewRoute: `const url = prefix + path`
}

} // namespace

std::string join_prefix(std::string_view outer, std::string_view prefix) {
    // Fastify 5.12.8 lib/plugin-override.js:76-91 buildRoutePrefix(instancePrefix, pluginPrefix).
    if (prefix.empty())
        return std::string{outer};
    std::string out{outer};
    if (ends_with_slash(outer) && prefix.front() == '/')
        prefix.remove_prefix(1); // "Remove the extra '/' to avoid: '/first//second'"
    else if (prefix.front() != '/' && !ends_with_slash(outer))
        out += '/'; // "Add the missing '/' to avoid: '/firstsecond'"
    out += prefix;
    return out;
}

std::vector<std::string>
route_paths(std::string_view prefix, std::string_view url, std::string_view method) {
    std::vector<std::string> out;
    for (std::string const& piece : pieces(prefix, url, method))
        out.push_back(std::string{prefix} + piece);
    return out;
}

std::vector<std::string> head_route_paths(std::string_view prefix, std::string_view url) {
    // lib/route.js:457-459, end of addNewRoute: `prepareRoute.call(this, { method: 'HEAD',
    // url: path, ... isFastify: true })` with the piece `path`; a duplicate of a route Fastify
    // made itself is ignored (`if (!context[kRouteByFastify])`).
    std::vector<std::string> out;
    for (std::string const& piece : pieces(prefix, url, "GET")) {
        for (std::string& p : route_paths(prefix, piece, "HEAD")) {
            bool seen = false;
            for (std::string const& q : out)
                seen = seen || q == p;
            if (!seen)
                out.push_back(std::move(p));
        }
    }
    return out;
}

std::string not_found_prefix(std::string_view prefix) {
    return prefix.empty() ? std::string{"/"} : std::string{prefix};
}

bool not_found_matches(std::string_view prefix, std::string_view path) {
    // lib/four-oh-four.js:149-157 _setNotFoundHandler: "/" replaces the root's context (it takes
    // every path); otherwise `router.all(prefix + (prefix.endsWith('/') ? '*' : '/*'))` and
    // `router.all(prefix)`; find-my-way's trailing '*' also matches the empty rest.
    if (prefix == "/" || path == prefix)
        return true;
    std::string const under =
        ends_with_slash(prefix) ? std::string{prefix} : std::string{prefix} + "/";
    return path.substr(0, under.size()) == under;
}

} // namespace lifecheck::scenario

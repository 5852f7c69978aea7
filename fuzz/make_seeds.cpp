// Writes seed corpora for the fuzz targets from the scenario corpus (run by fuzz/make_seeds.sh).
//
// http_bytes: the wire bytes of every request and raw step of every scenario, one seed each,
// encoded for decode_http. lifecycle: every fastify-dialect scenario encoded for
// decode_lifecycle (the nearest scenario the decoder can express). Seeds are named
// seed-<FNV-1a 64 of the content>, so identical seeds collapse and reruns change nothing.
#include "fuzz/decode.hpp"
#include "harness/scenario/load.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace lifecheck;
namespace fs = std::filesystem;

constexpr char const* usage = R"(usage: lifecheck_fuzz_seeds TARGET OUT_DIR PATH...

Writes seed inputs for the fuzz target TARGET (http_bytes or lifecycle) into OUT_DIR, derived
from the scenario files below PATH... (files or folders). Invalid scenario files are skipped
with a note. Exit codes: 0 done, 2 usage error or nothing to write.
)";

std::string name_of(std::string const& bytes) {
    std::uint64_t h = 1469598103934665603ull;
    for (char c : bytes) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "seed-%016llx", static_cast<unsigned long long>(h));
    return buf;
}

void request_bytes(std::vector<scenario::step> const& steps, std::vector<std::string>& out) {
    for (scenario::step const& s : steps) {
        if (s.kind == scenario::step_kind::request)
            out.push_back(scenario::wire_bytes(s.id, s.request));
        else if (s.kind == scenario::step_kind::raw)
            out.push_back(s.raw);
        else if (s.kind == scenario::step_kind::parallel)
            request_bytes(s.children, out);
    }
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> const args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
        std::fputs(usage, stdout);
        return 0;
    }
    if (args.size() < 3) {
        std::fputs(usage, stderr);
        return 2;
    }
    auto const target = fuzz::parse_target(args[0]);
    if (!target || *target == fuzz::target_kind::scenario_loader) {
        std::fprintf(stderr,
                     "lifecheck_fuzz_seeds: no seeds to derive for target '%s' "
                     "(scenario_loader uses scenarios/ itself)\n%s",
                     args[0].c_str(),
                     usage);
        return 2;
    }
    fs::path const out_dir{args[1]};
    std::vector<fs::path> paths(args.begin() + 2, args.end());
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) {
        std::fprintf(stderr,
                     "lifecheck_fuzz_seeds: cannot create %s: %s\n",
                     out_dir.c_str(),
                     ec.message().c_str());
        return 2;
    }
    std::set<std::string> written;
    std::size_t skipped = 0;
    for (fs::path const& file : scenario::collect_files(paths)) {
        auto sc = scenario::load_file(file);
        if (!sc.has_value()) {
            ++skipped;
            continue;
        }
        std::vector<std::string> seeds;
        if (*target == fuzz::target_kind::http_bytes) {
            std::vector<std::string> requests;
            request_bytes(sc.value().steps, requests);
            for (std::string const& r : requests)
                seeds.push_back(fuzz::encode_http(r));
        } else if (sc.value().lang == scenario::dialect::fastify) {
            seeds.push_back(fuzz::encode_lifecycle(sc.value()));
        }
        for (std::string const& s : seeds) {
            std::string const name = name_of(s);
            if (!written.insert(name).second)
                continue;
            std::ofstream f{out_dir / name, std::ios::binary};
            f << s;
        }
    }
    std::printf("%zu %s seeds in %s (%zu invalid scenario files skipped)\n",
                written.size(),
                fuzz::to_string(*target),
                out_dir.c_str(),
                skipped);
    return written.empty() ? 2 : 0;
}

// A property campaign on RapidCheck's engine (rc::detail::checkTestable): generate, judge against
// the model, count coverage, shrink a failure and write it out as a replayable scenario file.
#include "harness/property/campaign.hpp"

#include "harness/check/verdict.hpp"
#include "harness/property/in_process.hpp"
#include "harness/property/target_search.hpp"
#include "harness/run/targets.hpp"
#include "harness/scenario/load.hpp"

#include <nlohmann/json.hpp>
#include <rapidcheck.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace lifecheck::property {
namespace {

using scenario::step;
using scenario::step_kind;

/// One line per finding of a step ("step r1: invariant I2: ...").
std::vector<std::string> describe_all(std::vector<check::finding> const& findings) {
    std::vector<std::string> out;
    for (auto const& f : findings)
        out.push_back(check::describe(f));
    return out;
}

std::string join_lines(std::vector<std::string> const& lines) {
    std::string out;
    for (auto const& l : lines)
        out += (out.empty() ? "" : "\n") + l;
    return out;
}

std::string join_trace(std::vector<std::string> const& t) {
    std::string out;
    for (auto const& l : t)
        out += (out.empty() ? "" : " ") + l;
    return out;
}

/// What each callback label stands for: its phase name and its verb. Handlers all share the
/// label "handler", so they are keyed by "handler <METHOD> <route url>" (generated route urls
/// are unique).
struct callback_index {
    std::map<std::string, std::pair<std::string, scenario::verb>> by_label;

    void add_hooks(scenario::hook_map const& hooks) {
        for (auto const& [ph, list] : hooks)
            for (auto const& a : list)
                by_label[a.label] = {scenario::to_string(ph), a.what};
    }

    void add(scenario::scope const& s) {
        add_hooks(s.hooks);
        if (s.error_handler)
            by_label[s.error_handler->label] = {"errorHandler", s.error_handler->what};
        if (s.not_found_handler)
            by_label[s.not_found_handler->label] = {"notFound", s.not_found_handler->what};
        add_hooks(s.not_found_hooks);
        if (s.not_found_error_handler)
            by_label[s.not_found_error_handler->label] = {"errorHandler",
                                                          s.not_found_error_handler->what};
        for (auto const& r : s.routes) {
            add_hooks(r.hooks);
            by_label["handler " + r.method + " " + r.url] = {"handler", r.handler.what};
            if (r.error_handler)
                by_label[r.error_handler->label] = {"errorHandler", r.error_handler->what};
        }
        if (s.late) {
            add_hooks(s.late->hooks);
            if (s.late->error_handler)
                by_label[s.late->error_handler->label] = {"errorHandler",
                                                          s.late->error_handler->what};
        }
        for (auto const& p : s.plugins)
            add(p);
    }
};

void count_coverage(campaign_result& r,
                    callback_index const& index,
                    std::string const& request,
                    std::vector<std::string> const& trace) {
    for (std::string const& label : trace) {
        auto it = index.by_label.find(label);
        if (label == "handler") {
            // the route url is the last path segment of the request ("GET /p1/r3" -> "/r3")
            auto const slash = request.rfind('/');
            auto const space = request.find(' ');
            if (slash != std::string::npos && space != std::string::npos)
                it = index.by_label.find("handler " + request.substr(0, space) + " " +
                                         request.substr(slash));
        }
        if (it == index.by_label.end())
            continue;
        phase_coverage& c = r.coverage[it->second.first];
        switch (it->second.second) {
        case scenario::verb::throw_:
        case scenario::verb::rethrow:
            ++c.threw;
            break;
        case scenario::verb::send:
        case scenario::verb::send_then_continue:
        case scenario::verb::hijack:
        case scenario::verb::replace_payload:
            ++c.sent;
            break;
        case scenario::verb::continue_:
            ++c.continued;
            break;
        case scenario::verb::hang:
            ++c.hung;
            break;
        }
    }
}

/// Request text per step id ("GET /p1/r3") for coverage.
void request_texts(std::vector<step> const& steps, std::map<std::string, std::string>& out) {
    for (step const& s : steps) {
        if (s.kind == step_kind::parallel)
            request_texts(s.children, out);
        else if (s.kind == step_kind::request)
            out[s.id] = s.request.method + " " + s.request.url.substr(0, s.request.url.find('?'));
    }
}

void record(campaign_result& r,
            scenario::scenario const& sc,
            std::vector<std::pair<std::string, std::vector<std::string>>> const& traces) {
    callback_index index;
    index.add(sc.application.root);
    std::map<std::string, std::string> requests;
    request_texts(sc.steps, requests);
    for (auto const& [id, trace] : traces) {
        r.traces.insert(join_trace(trace));
        count_coverage(r, index, requests[id], trace);
    }
}

scenario::expectation expect_of(model::step_prediction const& p, step const& s) {
    scenario::expectation e;
    e.trace = p.trace;
    if (s.kind == step_kind::close)
        return e;
    if (!p.reached)
        e.reached = false;
    e.end_at = p.end_at;
    e.status = p.status;
    if (p.status) {
        e.complete = p.complete;
        if (p.body_text && p.complete) {
            scenario::expected_body b;
            bool const json = p.content_type && p.content_type->find("json") != std::string::npos &&
                              nlohmann::json::accept(*p.body_text);
            if (json) {
                b.how = scenario::body_match::json_value;
                b.value = scenario::json::parse(*p.body_text);
            } else {
                b.how = scenario::body_match::text;
                b.text = *p.body_text;
            }
            e.body = b;
        }
    }
    if (p.end_at)
        e.aborted = p.aborted;
    return e;
}

void fill_expect(std::vector<step>& steps,
                 std::map<std::string, model::step_prediction> const& by_id) {
    for (step& s : steps) {
        if (s.kind == step_kind::parallel) {
            fill_expect(s.children, by_id);
            continue;
        }
        if (s.kind == step_kind::sleep)
            continue;
        std::string const id = s.kind == step_kind::close && s.id.empty() ? "close" : s.id;
        auto const it = by_id.find(id);
        if (it == by_id.end() || !it->second.deterministic || it->second.crash)
            continue;
        s.expect = expect_of(it->second, s);
    }
}

std::string safe_name(std::string const& text) {
    std::string out;
    for (char c : text)
        out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
    if (out.size() > 40)
        out = out.substr(0, 40);
    return out;
}

/// A TestListener that counts cases and shrink steps and reports progress.
class listener final : public rc::detail::TestListener {
public:
    listener(campaign_result& r, campaign_options const& o)
        : r_{r}
        , o_{o} {}

    void onTestCaseFinished(rc::detail::CaseDescription const& d) override {
        if (d.result.type == rc::detail::CaseResult::Type::Discard) {
            ++r_.discarded;
        } else {
            ++r_.cases;
        }
        tick(false);
    }

    void onShrinkTried(rc::detail::CaseDescription const&, bool accepted) override {
        ++tried_;
        if (accepted)
            ++r_.shrinks;
        tick(true);
    }

    void onTestFinished(rc::detail::TestMetadata const&, rc::detail::TestResult const&) override {}

private:
    void tick(bool shrinking) {
        if (!o_.progress)
            return;
        auto const now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds{200})
            return;
        last_ = now;
        std::ostringstream line;
        if (shrinking)
            line << "shrinking: " << r_.shrinks << " steps accepted, " << tried_ << " tried";
        else
            line << r_.cases << "/" << o_.cases << " cases, " << r_.discarded << " discarded, "
                 << r_.traces.size() << " distinct traces";
        o_.progress(line.str());
    }

    campaign_result& r_;
    campaign_options const& o_;
    int tried_ = 0;
    std::chrono::steady_clock::time_point last_{};
};

std::string replay_target(campaign_options const& o) {
    if (o.target != in_process_target)
        return o.target;
    if (o.faults == 0)
        return "reference";
    auto spec = run::resolve_target("reference", run::self_exe());
    std::string exe = spec.has_value() && !spec.value().argv.empty() ? spec.value().argv.front()
                                                                     : "lifecheck-reference";
    return exe + " --faults " + fault_names(o.faults);
}

/// The shrunk failing case as a counterexample: expect from the model, written to a file when
/// asked, with the commands that replay and reproduce it.
void report_failure(campaign_result& r,
                    campaign_options const& opts,
                    scenario::scenario failing,
                    std::vector<std::string> lines) {
    r.failure = lines;
    scenario::scenario ce = with_expectations(std::move(failing));
    std::string const name = "prop-" + safe_name(opts.target) + (opts.faults ? "-faults" : "") +
                             "-" + std::to_string(r.seed);
    ce.id = name;
    ce.description = "counterexample from lifecheck prop (target " + opts.target + ", seed " +
                     std::to_string(r.seed) + "): " + (lines.empty() ? "" : lines.front());
    ce.tags = {"generated", "counterexample"};
    std::ostringstream repro;
    repro << "lifecheck prop --target " << run::shell_quote(opts.target) << " --cases "
          << opts.cases << " --seed " << r.seed << " --max-scopes " << opts.gen.max_scopes
          << (opts.gen.dialect == scenario::dialect::koa ? " --dialect koa" : "");
    if (opts.jobs > 1 && opts.target != in_process_target)
        repro << " -j " << opts.jobs;
    if (opts.faults)
        repro << " --faults " << fault_names(opts.faults);
    r.reproduce_command = repro.str();
    if (opts.write_counterexample) {
        std::error_code ec;
        std::filesystem::create_directories(opts.counterexample_dir, ec);
        r.written = opts.counterexample_dir / (name + ".json");
        ce.file = r.written.string();
        std::ofstream f{r.written};
        f << to_text(ce);
        if (!f) {
            r.error = "cannot write " + r.written.string();
            r.written.clear();
        }
        r.replay_command = "lifecheck run --target " + run::shell_quote(replay_target(opts)) + " " +
                           run::shell_quote(r.written.string());
    }
    r.counterexample = std::move(ce);
}

} // namespace

std::string fault_names(engine::fault_set f) {
    std::string out;
    for (auto const& [name, one] : engine::all_faults())
        if ((f & static_cast<std::uint32_t>(one)) != 0)
            out += (out.empty() ? "" : ",") + name;
    return out;
}

int count_scopes(scenario::scope const& s) {
    int n = 1;
    for (auto const& p : s.plugins)
        n += count_scopes(p);
    return n;
}

int count_callbacks(scenario::scope const& s) {
    auto hooks = [](scenario::hook_map const& h) {
        int n = 0;
        for (auto const& [ph, list] : h)
            n += static_cast<int>(list.size());
        return n;
    };
    int n = hooks(s.hooks) + (s.error_handler ? 1 : 0) + (s.not_found_handler ? 1 : 0) +
            hooks(s.not_found_hooks) + (s.not_found_error_handler ? 1 : 0);
    for (auto const& r : s.routes)
        n += 1 + hooks(r.hooks) + (r.error_handler ? 1 : 0);
    if (s.late)
        n += hooks(s.late->hooks) + (s.late->error_handler ? 1 : 0);
    for (auto const& p : s.plugins)
        n += count_callbacks(p);
    return n;
}

scenario::scenario with_expectations(scenario::scenario sc) {
    std::map<std::string, model::step_prediction> by_id;
    for (auto& p : model::predict(sc))
        by_id[p.step_id] = p;
    fill_expect(sc.steps, by_id);
    // v2.5: a refusal the model predicts is what the target must answer (§1.8)
    if (auto const it = by_id.find("startup");
        it != by_id.end() && it->second.deterministic && it->second.refused) {
        scenario::step st;
        st.kind = step_kind::startup;
        st.id = "startup";
        st.json_path = "$.startup";
        scenario::expectation e;
        e.error_given = true;
        e.error =
            scenario::expected_startup_error{it->second.refusal_code, it->second.refusal_message};
        e.trace = it->second.trace;
        st.expect = e;
        sc.startup = st;
    }
    return sc;
}

std::string skip_reason(std::vector<model::step_prediction> const& predictions, bool in_process) {
    for (auto const& p : predictions) {
        if (!p.deterministic)
            return "not deterministic: " + p.why;
        if (!in_process && p.crash)
            return "Fastify crash predicted: step " + p.step_id;
        if (!in_process && p.hangs)
            return "hang predicted: step " + p.step_id;
    }
    return "";
}

campaign_result run_campaign(campaign_options const& opts) {
    campaign_result r;
    r.seed =
        opts.seed ? *opts.seed : std::random_device{}() * 4294967296ULL + std::random_device{}();
    bool const in_process = opts.target == in_process_target;

    // The reason's kind: "not deterministic: timing race" without the details.
    auto count_discard = [&r](std::string const& why) {
        auto const first = why.find(':');
        auto const second = first == std::string::npos ? first : why.find(':', first + 1);
        ++r.discard_reasons[why.substr(0, second)];
    };
    auto predicted_traces = [](std::vector<model::step_prediction> const& predictions) {
        std::vector<std::pair<std::string, std::vector<std::string>>> traces;
        for (auto const& p : predictions)
            traces.emplace_back(p.step_id, p.trace);
        return traces;
    };
    if (!in_process) {
        // Socket targets: RapidCheck's search and shrinking, N cases at a time (D58).
        search_hooks hooks;
        hooks.model_skip = [](std::vector<model::step_prediction> const& predictions) {
            return skip_reason(predictions, false);
        };
        hooks.discarded = count_discard;
        hooks.judged = [&](scenario::scenario const& sc,
                           std::vector<model::step_prediction> const& predictions) {
            record(r, sc, predicted_traces(predictions));
        };
        search_outcome found;
        try {
            found = search_on_targets(opts, r, hooks);
        } catch (std::exception const& e) {
            found.error = std::string{"an exception in lifecheck: "} + e.what();
        }
        if (found.how == search_outcome::status::passed) {
            r.passed = true;
        } else if (found.how == search_outcome::status::gave_up) {
            r.error = "gave up: " + found.error;
        } else if (found.how == search_outcome::status::error) {
            r.error = found.error;
        } else {
            report_failure(r, opts, std::move(*found.failing), std::move(found.lines));
        }
        return r;
    }

    bool failed_once = false; // after the first failure every call is a shrink attempt
    std::optional<scenario::scenario> last_failure;
    std::vector<std::string> last_lines;
    auto property = [&] {
        scenario::scenario sc = *scenario_gen(opts.gen);
        auto const predictions = model::predict(sc);
        std::string const why = skip_reason(predictions, in_process);
        if (!why.empty()) {
            if (!failed_once)
                count_discard(why);
            RC_DISCARD(why);
        }
        auto const outcomes = run_in_process(sc, opts.faults);
        std::vector<std::string> lines = compare_with_model(sc, outcomes);
        if (opts.check_invariants)
            for (auto& l : describe_all(check(sc, outcomes)))
                lines.push_back(l);
        std::vector<std::pair<std::string, std::vector<std::string>>> traces;
        for (auto const& o : outcomes)
            traces.emplace_back(o.step_id, o.trace);
        if (!failed_once)
            record(r, sc, traces);
        if (!lines.empty()) {
            failed_once = true;
            last_failure = sc;
            last_lines = lines;
            RC_FAIL(join_lines(lines));
        }
    };

    rc::detail::TestParams params;
    params.seed = r.seed;
    params.maxSuccess = opts.cases;
    params.maxSize = 100;
    params.maxDiscardRatio = 10;
    params.disableShrinking = !opts.shrink;
    rc::detail::TestMetadata meta;
    meta.id = "lifecheck prop " + opts.target;
    meta.description = meta.id;
    listener l{r, opts};
    rc::detail::TestResult const result = rc::detail::checkTestable(property, meta, params, l);

    rc::detail::SuccessResult success;
    rc::detail::GaveUpResult gave_up;
    rc::detail::Error error;
    if (result.match(success)) {
        r.passed = true;
        return r;
    }
    if (result.match(gave_up)) {
        r.error = "gave up: " + gave_up.description;
        return r;
    }
    if (result.match(error)) {
        r.error = "RapidCheck error: " + error.description;
        return r;
    }
    if (!last_failure) {
        r.error = "the property failed without a generated case (an exception in lifecheck?)";
        rc::detail::FailureResult failure;
        if (result.match(failure))
            r.error += ": " + failure.description;
        return r;
    }
    {
        // After RapidCheck's shrinking: drop routes and plugins one at a time while the case
        // still fails (a route the steps never reach often survives list shrinking).
        auto fails = [&](scenario::scenario const& c) {
            auto const loaded = scenario::from_json(scenario::to_json(c), "<pruned>", "generated");
            if (!loaded.has_value() || !skip_reason(model::predict(loaded.value()), true).empty())
                return false;
            auto const outcomes = run_in_process(loaded.value(), opts.faults);
            return !compare_with_model(loaded.value(), outcomes).empty() ||
                   (opts.check_invariants && !check(loaded.value(), outcomes).empty());
        };
        std::function<bool(scenario::scope&)> prune = [&](scenario::scope& sc_scope) {
            for (std::size_t i = 0; i < sc_scope.routes.size(); ++i) {
                auto const kept = sc_scope.routes[i];
                sc_scope.routes.erase(sc_scope.routes.begin() + static_cast<long>(i));
                if (fails(*last_failure))
                    return true;
                sc_scope.routes.insert(sc_scope.routes.begin() + static_cast<long>(i), kept);
            }
            for (std::size_t i = 0; i < sc_scope.plugins.size(); ++i) {
                auto const kept = sc_scope.plugins[i];
                sc_scope.plugins.erase(sc_scope.plugins.begin() + static_cast<long>(i));
                if (fails(*last_failure))
                    return true;
                sc_scope.plugins.insert(sc_scope.plugins.begin() + static_cast<long>(i), kept);
                if (prune(sc_scope.plugins[i]))
                    return true;
            }
            return false;
        };
        while (prune(last_failure->application.root))
            ++r.shrinks;
        auto relabelled =
            scenario::from_json(scenario::to_json(*last_failure), "<pruned>", "generated");
        if (relabelled.has_value()) {
            last_failure = std::move(relabelled).value();
            auto const outcomes = run_in_process(*last_failure, opts.faults);
            auto lines = compare_with_model(*last_failure, outcomes);
            if (opts.check_invariants)
                for (auto& line : describe_all(check(*last_failure, outcomes)))
                    lines.push_back(line);
            last_lines = lines;
        }
    }
    report_failure(r, opts, std::move(*last_failure), std::move(last_lines));
    return r;
}

} // namespace lifecheck::property

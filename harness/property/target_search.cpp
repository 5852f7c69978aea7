// The property's search and shrinking on socket targets with N target processes (D58): RapidCheck's
// order of cases and shrinks, judged N at a time.
#include "harness/property/target_search.hpp"

#include "harness/check/verdict.hpp"
#include "harness/run/runner.hpp"
#include "harness/run/targets.hpp"

#include <rapidcheck.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

namespace lifecheck::property {
namespace {

/// What one case did on a target.
struct case_outcome {
    enum class kind { pass, discard, fail } what = kind::pass;
    std::vector<std::string> lines; // fail: why
    std::string why;                // discard: the target's reason
};

case_outcome judge(run::runner& rn, scenario::scenario const& judged) {
    run::outcome const out = rn.run(judged);
    case_outcome c;
    if (out.result.v == check::verdict::skip) {
        c.what = case_outcome::kind::discard;
        c.why = "the target skips it: " + out.result.skip_reason;
    } else if (out.result.v != check::verdict::pass) {
        c.what = case_outcome::kind::fail;
        c.lines.push_back(std::string{"verdict "} + check::to_string(out.result.v));
        for (auto const& f : out.result.findings)
            c.lines.push_back(check::describe(f));
    }
    return c;
}

/// N runners, each with its own target process and thread, judging queued cases; outcomes are
/// taken by ticket, in any order.
class target_pool {
public:
    target_pool(run::target_spec const& spec, campaign_options const& o, int n) {
        for (int w = 0; w < n; ++w)
            runners_.push_back(std::make_unique<run::runner>(
                o.target, run::process_factory(spec, o.runner, w), o.runner));
    }

    ~target_pool() {
        {
            std::lock_guard lock{mu_};
            stop_ = true;
        }
        work_cv_.notify_all();
        for (std::thread& t : threads_)
            t.join();
        for (auto& rn : runners_)
            rn->stop();
    }

    target_pool(target_pool const&) = delete;
    target_pool& operator=(target_pool const&) = delete;

    /// Starts every target at once; "" or why one did not start.
    std::string start() {
        std::vector<std::string> errors(runners_.size());
        std::vector<std::thread> starting;
        for (std::size_t w = 0; w < runners_.size(); ++w)
            starting.emplace_back([this, w, &errors] {
                auto started = runners_[w]->ensure_started();
                if (!started.has_value())
                    errors[w] = describe(started.error().front());
            });
        for (std::thread& t : starting)
            t.join();
        for (std::string const& e : errors)
            if (!e.empty())
                return e;
        for (std::size_t w = 0; w < runners_.size(); ++w)
            threads_.emplace_back([this, w] { work(w); });
        return "";
    }

    std::size_t submit(scenario::scenario judged) {
        std::size_t ticket = 0;
        {
            std::lock_guard lock{mu_};
            ticket = next_ticket_++;
            queue_.emplace_back(ticket, std::move(judged));
        }
        work_cv_.notify_one();
        return ticket;
    }

    case_outcome take(std::size_t ticket) {
        std::unique_lock lock{mu_};
        done_cv_.wait(lock, [&] { return done_.count(ticket) != 0; });
        case_outcome out = std::move(done_.at(ticket));
        done_.erase(ticket);
        return out;
    }

    /// Cases submitted after `ticket` are not wanted: the queued ones are not run (the running
    /// ones finish; their outcomes are never taken).
    void drop_after(std::size_t ticket) {
        std::lock_guard lock{mu_};
        std::erase_if(queue_, [ticket](auto const& job) { return job.first > ticket; });
    }

private:
    void work(std::size_t w) {
        for (;;) {
            std::pair<std::size_t, scenario::scenario> job;
            {
                std::unique_lock lock{mu_};
                work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
                if (stop_)
                    return;
                job = std::move(queue_.front());
                queue_.pop_front();
            }
            case_outcome out = judge(*runners_[w], job.second);
            {
                std::lock_guard lock{mu_};
                done_[job.first] = std::move(out);
            }
            done_cv_.notify_all();
        }
    }

    std::vector<std::unique_ptr<run::runner>> runners_;
    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable work_cv_;
    std::condition_variable done_cv_;
    std::deque<std::pair<std::size_t, scenario::scenario>> queue_;
    std::map<std::size_t, case_outcome> done_;
    std::size_t next_ticket_ = 0;
    bool stop_ = false;
};

/// rc::detail::searchProperty's size for the i-th success (Testing.cpp, sizeFor).
int size_for(int max_success, int max_size, int i) {
    int const sizes = max_size + 1;
    int const regular = (max_success / sizes) * sizes;
    if (i < regular)
        return i % sizes;
    int const rest = max_success - regular;
    if (rest == 1)
        return 0;
    return ((i % sizes) * max_size) / (rest - 1);
}

using shrinkable = rc::Shrinkable<scenario::scenario>;

/// One generated case: judged by the model here (a discard) or submitted to the pool.
struct candidate {
    std::optional<shrinkable> tree;
    scenario::scenario sc;
    std::vector<model::step_prediction> predictions;
    std::string skip; // why it is not run ("" when it is)
    std::size_t ticket = 0;
    rc::Random after; // the search's random state after this case's split
};

/// Generates the case of `tree` and submits it unless the model cannot judge it.
candidate prepare(shrinkable tree, search_hooks const& hooks, target_pool& pool) {
    candidate c;
    try {
        c.sc = tree.value();
    } catch (rc::GenerationFailure const& e) {
        c.skip = std::string{"generation failed: "} + e.what();
    }
    c.tree = std::move(tree);
    if (!c.skip.empty())
        return c;
    c.predictions = model::predict(c.sc);
    c.skip = hooks.model_skip(c.predictions);
    if (!c.skip.empty())
        return c;
    scenario::scenario judged = with_expectations(c.sc);
    judged.file = "<generated case>";
    c.ticket = pool.submit(std::move(judged));
    return c;
}

class progress_line {
public:
    progress_line(campaign_options const& o, campaign_result const& r)
        : o_{o}
        , r_{r} {}

    void searching() {
        if (due())
            o_.progress(std::to_string(r_.cases) + "/" + std::to_string(o_.cases) + " cases, " +
                        std::to_string(r_.discarded) + " discarded, " +
                        std::to_string(r_.traces.size()) + " distinct traces");
    }

    void shrinking(int tried) {
        if (due())
            o_.progress("shrinking: " + std::to_string(r_.shrinks) + " steps accepted, " +
                        std::to_string(tried) + " tried");
    }

private:
    bool due() {
        auto const now = std::chrono::steady_clock::now();
        if (!o_.progress || now - last_ < std::chrono::milliseconds{200})
            return false;
        last_ = now;
        return true;
    }

    campaign_options const& o_;
    campaign_result const& r_;
    std::chrono::steady_clock::time_point last_{};
};

} // namespace

search_outcome
search_on_targets(campaign_options const& opts, campaign_result& r, search_hooks const& hooks) {
    search_outcome out;
    auto spec = run::resolve_target(opts.target, run::self_exe());
    if (!spec.has_value()) {
        out.error = "target " + opts.target + ": " + describe(spec.error().front());
        return out;
    }
    int const jobs = std::max(1, opts.jobs);
    target_pool pool{spec.value(), opts, jobs};
    if (std::string const failed = pool.start(); !failed.empty()) {
        out.error = "target " + opts.target + " did not start: " + failed;
        return out;
    }
    r.workers = jobs;
    progress_line progress{opts, r};
    rc::Gen<scenario::scenario> const gen =
        rc::gen::exec([&opts] { return *scenario_gen(opts.gen); });

    // The search (rc::detail::searchProperty): sizes follow the successes so far and the
    // discards since the last one. Cases are generated ahead as if each submitted one passes;
    // a target's skip (a discard) makes the ones after it wrong: they are generated again.
    int const max_size = 100;
    int const max_discard = 10 * opts.cases;
    int successes = 0;
    int discards = 0;
    int recent = 0;
    rc::Random random{r.seed};
    int ahead_successes = 0; // as generated, assuming every submitted case passes
    int ahead_recent = 0;
    std::deque<candidate> window;
    std::size_t const window_cap = static_cast<std::size_t>(2 * jobs);
    std::size_t submitted_in_window = 0;
    std::optional<candidate> failing;
    std::vector<std::string> failing_lines;
    while (successes < opts.cases) {
        while (ahead_successes < opts.cases && submitted_in_window < window_cap &&
               window.size() < window_cap + 256) {
            int const size = size_for(opts.cases, max_size, ahead_successes) + ahead_recent / 10;
            rc::Random const split = random.split();
            candidate c = prepare(gen(split, size), hooks, pool);
            c.after = random;
            if (c.skip.empty()) {
                ++ahead_successes;
                ahead_recent = 0;
                ++submitted_in_window;
            } else {
                ++ahead_recent;
            }
            window.push_back(std::move(c));
        }
        candidate c = std::move(window.front());
        window.pop_front();
        bool skipped_by_target = false;
        if (c.skip.empty()) {
            --submitted_in_window;
            case_outcome result = pool.take(c.ticket);
            if (result.what == case_outcome::kind::fail) {
                ++r.cases;
                hooks.judged(c.sc, c.predictions);
                failing_lines = std::move(result.lines);
                pool.drop_after(c.ticket);
                failing = std::move(c);
                break;
            }
            if (result.what == case_outcome::kind::discard) {
                c.skip = result.why;
                skipped_by_target = true;
            }
        }
        if (c.skip.empty()) {
            ++r.cases;
            ++successes;
            recent = 0;
            hooks.judged(c.sc, c.predictions);
        } else {
            ++r.discarded;
            ++discards;
            ++recent;
            hooks.discarded(skipped_by_target ? "the target skips it" : c.skip);
            if (discards > max_discard) {
                out.how = search_outcome::status::gave_up;
                out.error = c.skip;
                return out;
            }
        }
        if (skipped_by_target) {
            // roll back: what was generated after this case assumed it passes
            pool.drop_after(c.ticket);
            window.clear();
            submitted_in_window = 0;
            random = c.after;
            ahead_successes = successes;
            ahead_recent = recent;
        }
        progress.searching();
    }
    if (!failing) {
        out.how = search_outcome::status::passed;
        return out;
    }

    // Shrinking (rc::detail::shrinkTestCase): the first shrink in order that still fails is
    // taken, and the search starts again from its shrinks; N shrinks are judged at once.
    shrinkable best = std::move(*failing->tree);
    scenario::scenario best_case = std::move(failing->sc);
    auto shrinks = best.shrinks();
    int tried = 0;
    if (opts.shrink) {
        for (bool more = true; more;) {
            std::vector<candidate> batch;
            while (batch.size() < static_cast<std::size_t>(jobs)) {
                auto next = shrinks.next();
                if (!next) {
                    more = false;
                    break;
                }
                batch.push_back(prepare(std::move(*next), hooks, pool));
            }
            for (candidate& c : batch) {
                ++tried;
                progress.shrinking(tried);
                if (!c.skip.empty())
                    continue;
                case_outcome result = pool.take(c.ticket);
                if (result.what != case_outcome::kind::fail)
                    continue;
                pool.drop_after(c.ticket);
                ++r.shrinks;
                best = std::move(*c.tree);
                best_case = std::move(c.sc);
                failing_lines = std::move(result.lines);
                shrinks = best.shrinks();
                more = true;
                break;
            }
        }
    }
    out.how = search_outcome::status::failed;
    out.failing = std::move(best_case);
    out.lines = std::move(failing_lines);
    return out;
}

} // namespace lifecheck::property

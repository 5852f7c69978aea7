// `lifecheck prop --target X -j N`: the property's search and shrinking on socket targets, with N
// target processes judging cases at once (decisions.md D58). The cases, their order, the failing
// case and every shrink step are RapidCheck's, exactly as one process would see them.
#pragma once

#include "harness/model/model.hpp"
#include "harness/property/campaign.hpp"
#include "harness/scenario/scenario.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lifecheck::property {

/// What the campaign wants to know as the search goes.
struct search_hooks {
    /// Why the model cannot judge a case here ("" when it can): skip_reason over sockets.
    std::function<std::string(std::vector<model::step_prediction> const&)> model_skip;
    /// A case discarded before the first failure (the reason as given).
    std::function<void(std::string const&)> discarded;
    /// A case judged before the first failure (passed, or the first failure): coverage.
    std::function<void(scenario::scenario const&, std::vector<model::step_prediction> const&)>
        judged;
};

/// How the search ended.
struct search_outcome {
    enum class status { passed, failed, gave_up, error } how = status::error;
    std::string error;                         // error, gave_up: why
    std::optional<scenario::scenario> failing; // failed: the shrunk case (as generated)
    std::vector<std::string> lines;            // failed: why it fails, one line each
};

/// Runs `opts.cases` generated cases on `opts.target` with max(1, opts.jobs) target processes;
/// counts cases, discards and shrink steps into `r` (r.workers: the processes used). RapidCheck's
/// search (rc::detail::searchProperty: seed, sizes, discard ratio 10) and shrinking order are
/// reproduced, so -j N finds and shrinks to the same case as -j 1: later cases run
/// speculatively beside earlier ones, and a case the target skips, which changes the sizes of
/// the cases after it, rolls the speculation back.
search_outcome
search_on_targets(campaign_options const& opts, campaign_result& r, search_hooks const& hooks);

} // namespace lifecheck::property

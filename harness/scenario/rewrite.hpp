// Rewrites the `expect` of steps in a scenario file's text and keeps every other byte: what
// `lifecheck record` writes back (issue 19: it used to re-indent the whole file).
#pragma once

#include "harness/common/result.hpp"
#include "harness/scenario/scenario.hpp"

#include <string>
#include <vector>

namespace lifecheck::scenario {

/// One step's new expectation: the step's JSONPath (step::json_path, "$.steps[1].parallel[0]")
/// and the `expect` object to give it.
struct expect_edit {
    std::string step_path;
    json expect;
};

/// `text` (a scenario file's JSON) with each step's `expect` set to its edit's value, and every
/// byte outside what changed kept as it was. Objects are edited member by member, at any depth:
/// a member whose value is unchanged keeps its bytes (equal JSON, key order inside objects
/// ignored), a changed value is rewritten where it stands, a member the new value lacks is
/// removed with its comma, a new member goes after the last one; a step without `expect` gets
/// one after its last member. Written values follow the layout around them: on one line where
/// the object is on one line (its `:` and `,` spacing), else one member per line at the
/// siblings' indent, nested values spread over lines as the file's other values are, the
/// file's line ending. A diagnostic when a step path is not in the text, or the text is not
/// JSON.
result<std::string> rewrite_expectations(std::string const& text,
                                         std::vector<expect_edit> const& edits);

} // namespace lifecheck::scenario

// Writes a run as SARIF 2.1.0 (results.sarif): one result per failing scenario and target, for
// code-scanning tools (GitHub's upload-sarif) that show it on the scenario file's line.
#pragma once

#include "harness/common/result.hpp"
#include "harness/report/report.hpp"
#include "harness/scenario/scenario.hpp"

#include <filesystem>
#include <string>

namespace lifecheck::report {

/// The SARIF 2.1.0 log of a run: one `run` whose tool is lifecheck, with one rule per
/// check::finding_kind (ruleId "trace", "status", "invariant", "crash", ...) and one result per
/// failure (fail, crash, hang, error): the rule of its first finding, level "error", the
/// message (headline, findings, replay command) and the location: the scenario file relative
/// to `r.run.source_root` (uriBaseId SRCROOT) and the line locate() finds.
scenario::json to_sarif(run_report const& r);

/// Writes to_sarif(r) to `file`, two-space indented.
result<std::filesystem::path> write_sarif(std::filesystem::path const& file, run_report const& r);

} // namespace lifecheck::report

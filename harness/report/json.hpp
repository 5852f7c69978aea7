// Writes a run as results.json (schema: reports/schema/report-v1.schema.json).
#pragma once

#include "harness/common/result.hpp"
#include "harness/report/report.hpp"
#include "harness/scenario/scenario.hpp"

#include <cstddef>
#include <filesystem>
#include <string>

namespace lifecheck::report {

/// Response bodies, and expected/actual values of findings, are cut to this many bytes.
constexpr std::size_t body_limit = 4096;

/// The results document: {"lifecheck", "run", "summary", "scenarios"} and, for run
/// --with-plugin, "plugin_delta" (report-v1 schema).
/// Text that is not UTF-8 (a binary body) is written with U+FFFD in place of bad bytes.
scenario::json to_json(run_report const& r);

/// to_json(r) as text, two-space indented, ending with a newline.
std::string to_json_text(run_report const& r);

/// Writes to_json_text(r) to `file`.
result<std::filesystem::path> write_json(std::filesystem::path const& file, run_report const& r);

} // namespace lifecheck::report

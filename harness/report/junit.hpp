// Writes a run as JUnit XML: one testsuite per target, one testcase per scenario.
#pragma once

#include "harness/common/result.hpp"
#include "harness/report/report.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace lifecheck::report {

/// The JUnit XML document for a run.
///
/// `<testsuites>` > `<testsuite name=TARGET>` > `<testcase classname=DIR name=BASE>`, where DIR
/// is the scenario id's folder with `/` → `.` and BASE its last part; `time` is in seconds.
/// fail → `<failure>`; crash, hang, error → `<error type="crash|hang|error">`; skip →
/// `<skipped message=REASON>`; divergence → `<skipped message="divergence (CLASS, shows
/// VERDICT): NOTE">` (reported apart, never failing a CI job). The element's `message` is the
/// first finding; its text (or `<system-out>` for a divergence) is failure_text().
std::string to_junit(run_report const& r);

/// Writes to_junit(r) to `file`.
result<std::filesystem::path> write_junit(std::filesystem::path const& file, run_report const& r);

/// `s` escaped as XML 1.0 character data (`attribute`: for a double-quoted attribute value, so
/// `"`, tab and newlines become references too). Characters XML 1.0 cannot carry at all
/// (C0 controls, U+FFFE/U+FFFF, lone surrogates) and bytes that are not UTF-8 are written as
/// visible text: `\x01`, `\u{FFFE}`.
std::string xml_escape(std::string_view s, bool attribute);

} // namespace lifecheck::report

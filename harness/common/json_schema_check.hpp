// Test helper: a JSON Schema file compiled by valijson (draft 7), and the errors it finds in a
// document (schema_test: scenario.schema.json; sarif_test: the published SARIF 2.1.0 schema).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace lifecheck::test {

class json_schema {
public:
    /// Reads and compiles `file` (throws when it is not a schema valijson can read).
    explicit json_schema(std::filesystem::path const& file) {
        std::ifstream in{file, std::ios::binary};
        std::ostringstream text;
        text << in.rdbuf();
        nlohmann::json const doc = nlohmann::json::parse(text.str());
        valijson::SchemaParser parser{valijson::SchemaParser::kDraft7};
        valijson::adapters::NlohmannJsonAdapter adapter{doc};
        parser.populateSchema(adapter, schema_);
    }

    /// "" when `doc` validates, else one line per error: where, then what.
    std::string errors(nlohmann::json const& doc) const {
        valijson::Validator validator;
        valijson::ValidationResults results;
        valijson::adapters::NlohmannJsonAdapter adapter{doc};
        if (validator.validate(schema_, adapter, &results))
            return "";
        std::string out;
        for (valijson::ValidationResults::Error const& e : results) {
            for (std::string const& part : e.context)
                out += part;
            out += ": " + e.description + "\n";
        }
        return out.empty() ? "invalid\n" : out;
    }

private:
    valijson::Schema schema_;
};

} // namespace lifecheck::test

#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "probes/common/http_client.hpp"

// Scenario variables: filling templates in and taking values out of
// responses. Values may be credentials (tokens, session ids): no message
// made here quotes one.
namespace sloprobe::probes {

using Variables = std::map<std::string, std::string, std::less<>>;

// A random UUID v4 in its 36-character form.
std::string NewUuid();

// Renders `t`. Built-ins: ${uuid} and ${unix_ms} are made at each use;
// ${run_id} is an ordinary variable the scenario sets once per run. On a
// variable that is not set, returns nullopt and sets `missing` to its name.
std::optional<std::string> Render(const config::Template& t, const Variables& vars,
                                  std::string& missing);

// Takes `extractions` from one response into `vars`, in order. On the first
// that fails, stops and returns why ("extract 'token': JSON Pointer
// '/access_token' not found"); nullopt when all succeeded.
std::optional<std::string> ExtractAll(const std::vector<config::Extraction>& extractions,
                                      const HttpResponse& response, Variables& vars);

// The number at JSON Pointer `pointer` of a JSON body, if it has one.
std::optional<double> JsonNumber(std::string_view body, std::string_view pointer);

}  // namespace sloprobe::probes

#include "config/target.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>

namespace sloprobe::config {

bool ValidHeaderValue(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::optional<boost::urls::url> ParseTargetUrl(std::string_view text, std::string& error,
                                               bool websocket) {
  auto parsed = boost::urls::parse_uri(text);
  const auto scheme = parsed ? parsed->scheme_id() : boost::urls::scheme::none;
  if (!parsed) {
    error = "is not a valid URL: " + parsed.error().message();
  } else if (websocket && scheme != boost::urls::scheme::ws && scheme != boost::urls::scheme::wss) {
    error = "must start with ws:// or wss://";
  } else if (!websocket && scheme != boost::urls::scheme::http &&
             scheme != boost::urls::scheme::https) {
    error = "must start with http:// or https://";
  } else if (parsed->encoded_host().empty()) {
    error = "has no host";
  } else if (parsed->has_userinfo()) {
    error = "holds credentials; use 'basic_auth' with a secret instead";
  } else if (parsed->has_port() && parsed->port_number() == 0) {
    error = "has an invalid port";
  } else {
    boost::urls::url url = *parsed;
    url.remove_fragment();
    return url;
  }
  return std::nullopt;
}

}  // namespace sloprobe::config

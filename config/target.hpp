#pragma once

#include <boost/url/url.hpp>
#include <optional>
#include <string>
#include <string_view>

// What a request may be sent with: checked by the loader, and by scenario
// steps again once their variables are filled in.
namespace sloprobe::config {

// Parses a probe's target URL: http or https (ws or wss for `websocket`),
// with a host, without credentials or a zero port; the fragment is dropped.
// On failure returns nullopt and sets `error` to why, without quoting the URL.
std::optional<boost::urls::url> ParseTargetUrl(std::string_view text, std::string& error,
                                               bool websocket = false);

// Whether `value` can be sent as a header value: no CR, LF or NUL.
bool ValidHeaderValue(std::string_view value);

}  // namespace sloprobe::config

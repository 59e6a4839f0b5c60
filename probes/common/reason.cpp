#include "probes/common/reason.hpp"

#include <array>
#include <string>

namespace sloprobe::probes {
namespace {

constexpr std::array<std::string_view, kReasonCount> kNames{"",
                                                            "dns",
                                                            "connect",
                                                            "tls",
                                                            "timeout",
                                                            "http_status",
                                                            "rate_limited",
                                                            "expectation",
                                                            "body_too_large",
                                                            "protocol",
                                                            "stream_error",
                                                            "truncated",
                                                            "no_tokens",
                                                            "auth"};

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sloprobe.probe"; }
  std::string message(int ev) const override {
    if (ev <= 0 || ev >= kReasonCount) return "ok";
    return std::string(kNames[static_cast<std::size_t>(ev)]);
  }
};

}  // namespace

std::string Excerpt(std::string_view text, std::size_t limit) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (text.size() > limit) out += "...";
  return out;
}

std::string_view ReasonName(Reason r) {
  const auto i = static_cast<std::size_t>(r);
  return i < kNames.size() ? kNames[i] : std::string_view{};
}

const std::error_category& ReasonCategory() {
  static const Category category;
  return category;
}

std::error_code make_error_code(Reason r) { return {static_cast<int>(r), ReasonCategory()}; }

}  // namespace sloprobe::probes

// The configuration loaders: the main file and --web.config.file. Any text
// gives either a configuration or located errors, never both, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/loader.hpp"
#include "config/web_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto main = sloprobe::config::LoadConfigString(text, "fuzz.yml");
  if (main.config.has_value() == !main.errors.empty()) std::abort();
  for (const auto& e : main.errors) {
    if (e.message.empty() || e.where.file != "fuzz.yml") std::abort();
  }
  const auto web = sloprobe::config::LoadWebConfigString(text, "web.yml", "/nonexistent");
  if (web.config.has_value() == !web.errors.empty()) std::abort();
  return 0;
}

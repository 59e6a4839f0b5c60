#include "daemon/check.hpp"

#include <boost/asio/io_context.hpp>

#include "config/loader.hpp"
#include "daemon/web_security.hpp"
#include "probes/probe.hpp"

namespace sloprobe::daemon {

int CheckConfig(const std::string& path, const std::string& web_config_file, std::ostream& out,
                std::ostream& err) {
  if (!web_config_file.empty()) {
    std::vector<std::string> errors;
    if (!WebConfigWatcher::Load(web_config_file, errors)) {
      for (const auto& e : errors) err << e << '\n';
      return 1;
    }
    out << web_config_file << ": OK\n";
  }
  auto loaded = config::LoadConfigFile(path);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) err << e.ToString() << '\n';
    err << loaded.errors.size() << (loaded.errors.size() == 1 ? " error" : " errors") << " in "
        << path << '\n';
    return 1;
  }
  // Setting a probe up reads its TLS files; do that too, so that a config
  // that checks is a config that starts.
  boost::asio::io_context io;
  auto tls = std::make_shared<probes::TlsContexts>();
  int failures = 0;
  for (const auto& p : loaded.config->probes) {
    try {
      (void)probes::MakeProbe(p, io.get_executor(), tls);
    } catch (const std::exception& e) {
      config::ConfigError error{p.location, e.what()};
      err << error.ToString() << '\n';
      ++failures;
    }
  }
  if (failures > 0) return 1;
  out << path << ": OK, " << loaded.config->probes.size()
      << (loaded.config->probes.size() == 1 ? " probe" : " probes") << '\n';
  return 0;
}

}  // namespace sloprobe::daemon

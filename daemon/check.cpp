#include "daemon/check.hpp"

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <cstdio>

#include "config/loader.hpp"
#include "config/text.hpp"
#include "daemon/log.hpp"
#include "daemon/web_security.hpp"
#include "probes/kinds.hpp"

namespace sloprobe::daemon {

int CheckConfig(const std::string& path, const std::string& web_config_file, std::ostream& out,
                std::ostream& err) {
  if (!web_config_file.empty()) {
    std::vector<std::string> errors;
    if (!WebConfigWatcher::Load(web_config_file, errors)) {
      for (const auto& e : errors) err << e << '\n';
      return kConfigInvalid;
    }
    out << web_config_file << ": OK\n";
  }
  auto loaded = config::LoadConfigFile(path, config::ByHandLoadOptions(true));
  if (!loaded.config) {
    for (const auto& e : loaded.errors) err << e.ToString() << '\n';
    err << config::Count(loaded.errors.size(), "error") << " in " << path << '\n';
    return kConfigInvalid;
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
  if (failures > 0) return kConfigInvalid;
  if (auto warning = ExposedCredentialsWarning(*loaded.config)) {
    err << "warning: " << *warning << '\n';
  }
  for (const auto& e : loaded.unchecked) err << "not checked: " << e.ToString() << '\n';
  const auto& c = *loaded.config;
  out << path << ": OK, ";
  if (c.sharding.shards > 1) {
    out << c.probes.size() << " of " << c.probes_in_file << " probes (shard " << c.sharding.shard
        << " of " << c.sharding.shards << ")";
  } else {
    out << config::Count(c.probes.size(), "probe");
  }
  if (loaded.unchecked.empty()) {
    out << '\n';
    return kConfigValid;
  }
  out << "; " << config::Count(loaded.unchecked.size(), "credential")
      << " could not be read and were not checked\n";
  return kConfigUnchecked;
}

std::optional<std::string> ExposedCredentialsWarning(const config::Config& config) {
  if (config.inline_secrets.empty()) return std::nullopt;
  struct stat st {};
  if (::stat(config.file.c_str(), &st) != 0 || (st.st_mode & S_IROTH) == 0) return std::nullopt;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  std::string where;
  for (const auto& w : config.inline_secrets) where += (where.empty() ? "" : ", ") + w;
  return config.file + " can be read by every user (mode " + mode +
         ") and holds credentials written into it: " + where +
         ". Move them to 'secrets' (env, file or credential) or make the file unreadable to "
         "others (chmod o-r)";
}

void WarnIfCredentialsExposed(const config::Config& config) {
  if (auto warning = ExposedCredentialsWarning(config)) {
    LogWarn("credentials in a file every user can read", {{"detail", *warning}});
  }
}

}  // namespace sloprobe::daemon

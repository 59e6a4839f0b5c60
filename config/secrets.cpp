#include "config/secrets.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sloprobe::config {

void Redactor::Add(std::string value) {
  // Very short values would mask innocent text everywhere; they are still
  // kept out of output by construction.
  if (value.size() < 4) return;
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) return;
  values_.push_back(std::move(value));
  std::sort(values_.begin(), values_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::Redact(std::string_view text) const {
  std::string out(text);
  for (const auto& v : values_) {
    std::size_t pos = 0;
    while ((pos = out.find(v, pos)) != std::string::npos) {
      out.replace(pos, v.size(), kMask);
      pos += kMask.size();
    }
  }
  return out;
}

namespace {

bool ReadFile(const std::string& path, std::string& value, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read '" + path + "': " + std::generic_category().message(errno);
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  value = buf.str();
  // Files written by editors and `echo` end in a newline that is not part of
  // the secret.
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) {
    error = "'" + path + "' is empty";
    return false;
  }
  return true;
}

}  // namespace

// Secrets are resolved while the config loads, before the daemon starts any
// thread, so getenv's lack of thread safety does not matter here.
bool ResolveSecret(const SecretSource& source, std::string& value, std::string& error) {
  switch (source.kind) {
    case SecretSource::Kind::kEnv: {
      const char* v = std::getenv(source.ref.c_str());  // NOLINT(concurrency-mt-unsafe)
      if (v == nullptr || *v == '\0') {
        error = "environment variable '" + source.ref + "' is not set or empty";
        return false;
      }
      value = v;
      return true;
    }
    case SecretSource::Kind::kFile:
      return ReadFile(source.ref, value, error);
    case SecretSource::Kind::kCredential: {
      const char* dir = std::getenv("CREDENTIALS_DIRECTORY");  // NOLINT(concurrency-mt-unsafe)
      if (dir == nullptr || *dir == '\0') {
        error = "credential '" + source.ref +
                "' needs $CREDENTIALS_DIRECTORY (set by systemd's LoadCredential=)";
        return false;
      }
      return ReadFile(std::string(dir) + "/" + source.ref, value, error);
    }
  }
  return false;
}

}  // namespace sloprobe::config

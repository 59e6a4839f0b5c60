#include "config/secrets.hpp"

#include <sys/stat.h>

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

// `code` gets errno when the file cannot be opened, 0 otherwise.
bool ReadFile(const std::string& path, std::string& value, std::string& error,
              int* code = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    if (code != nullptr) *code = e;
    error = "cannot read '" + path + "': " + std::generic_category().message(e);
    return false;
  }
  if (code != nullptr) *code = 0;
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

// Secrets are resolved while the config loads, on the thread that loads it;
// nothing in sloprobe sets environment variables, so getenv is safe here.
const char* CredentialsDirectory() {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");  // NOLINT(concurrency-mt-unsafe)
  return dir != nullptr && *dir != '\0' ? dir : nullptr;
}

}  // namespace

bool SystemdPassedCredentials() { return CredentialsDirectory() != nullptr; }

bool ResolveSecret(const SecretSource& source, std::string& value, std::string& error,
                   const CredentialFallback* fallback, bool* unverifiable) {
  if (unverifiable != nullptr) *unverifiable = false;
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
      if (const char* dir = CredentialsDirectory()) {
        int code = 0;
        if (ReadFile(std::string(dir) + "/" + source.ref, value, error, &code)) return true;
        if (code == ENOENT) {
          // LoadCredential= copies the files once, when the service starts.
          error = "credential '" + source.ref +
                  "' is not among those systemd passed when the service started; systemd "
                  "reads credential files only at start, so after adding or changing one "
                  "restart the service (systemctl restart sloprobe)";
        }
        return false;
      }
      if (fallback != nullptr && source.ref.starts_with(fallback->prefix)) {
        int code = 0;
        if (ReadFile(fallback->directory + "/" + source.ref.substr(fallback->prefix.size()), value,
                     error, &code)) {
          return true;
        }
        // A file missing from a directory that is there is a credential the
        // service would lack too; no directory, or one this user may not
        // read, says nothing about the service.
        struct stat st {};
        if (unverifiable != nullptr) {
          *unverifiable = code == EACCES || ::stat(fallback->directory.c_str(), &st) != 0;
        }
        return false;
      }
      // Only the unit knows where a credential of another name comes from.
      if (unverifiable != nullptr) *unverifiable = true;
      error = "credential '" + source.ref +
              "' needs $CREDENTIALS_DIRECTORY (set by systemd's LoadCredential=)";
      return false;
    }
  }
  return false;
}

}  // namespace sloprobe::config

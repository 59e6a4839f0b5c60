#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sloprobe::config {

// Holds the values of resolved secrets and replaces any occurrence of one in
// text that is about to leave the process (logs, error details). Secrets are
// also kept out of metrics and messages by construction; this is the last
// line of defence, for text that a server sent back.
class Redactor {
 public:
  static constexpr std::string_view kMask = "<redacted>";

  void Add(std::string value);
  std::string Redact(std::string_view text) const;
  bool Empty() const { return values_.empty(); }

 private:
  std::vector<std::string> values_;  // longest first
};

// Where a secret's value comes from, as written under `secrets:`.
struct SecretSource {
  enum class Kind { kEnv, kFile, kCredential };
  Kind kind = Kind::kEnv;
  std::string ref;  // variable name, file path or credential name
};

// Where a command run by hand (`--config.check`, `sloprobe check`) reads a
// credential when systemd passed none ($CREDENTIALS_DIRECTORY is not set):
// the packaged unit's LoadCredential=sloprobe:/etc/sloprobe/credentials makes
// the file F in that directory the credential "sloprobe_F".
struct CredentialFallback {
  std::string directory = "/etc/sloprobe/credentials";
  std::string prefix = "sloprobe_";
};

// Whether systemd passed credentials to this process ($CREDENTIALS_DIRECTORY).
bool SystemdPassedCredentials();

// Reads a secret. On failure returns false and sets `error` to a message that
// names the source but never contains a value. `fallback` applies only to
// credentials, and only without $CREDENTIALS_DIRECTORY. `unverifiable`, if
// given, says whether the failure only means that this process cannot see
// the credential (not root, not the service's host, a name the packaged
// unit does not pass), not that the service would lack it.
bool ResolveSecret(const SecretSource& source, std::string& value, std::string& error,
                   const CredentialFallback* fallback = nullptr, bool* unverifiable = nullptr);

}  // namespace sloprobe::config

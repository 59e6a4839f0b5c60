#pragma once

#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/secrets.hpp"

namespace sloprobe::daemon {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };

bool ParseLogLevel(std::string_view text, LogLevel& out);
bool ParseLogFormat(std::string_view text, LogFormat& out);

struct LogField {
  std::string_view key;
  std::string value;
};

// Structured logging to one stream (stderr in production). Every line passes
// through the redactor of the running config, so a secret that found its way
// into a server's error text is masked. Thread-safe.
class Logger {
 public:
  static Logger& Get();

  void Configure(LogLevel level, LogFormat format, std::ostream* out);
  void SetRedactor(config::Redactor redactor);
  bool Enabled(LogLevel level) const { return level >= level_; }

  void Log(LogLevel level, std::string_view message, std::vector<LogField> fields = {});

 private:
  Logger();
  mutable std::mutex mutex_;
  LogLevel level_ = LogLevel::kInfo;
  LogFormat format_ = LogFormat::kLogfmt;
  std::ostream* out_;
  config::Redactor redactor_;
};

inline void LogDebug(std::string_view m, std::vector<LogField> f = {}) {
  if (Logger::Get().Enabled(LogLevel::kDebug)) Logger::Get().Log(LogLevel::kDebug, m, std::move(f));
}
inline void LogInfo(std::string_view m, std::vector<LogField> f = {}) {
  Logger::Get().Log(LogLevel::kInfo, m, std::move(f));
}
inline void LogWarn(std::string_view m, std::vector<LogField> f = {}) {
  Logger::Get().Log(LogLevel::kWarn, m, std::move(f));
}
inline void LogError(std::string_view m, std::vector<LogField> f = {}) {
  Logger::Get().Log(LogLevel::kError, m, std::move(f));
}

}  // namespace sloprobe::daemon

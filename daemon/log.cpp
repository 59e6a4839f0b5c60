#include "daemon/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace sloprobe::daemon {
namespace {

constexpr std::string_view LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

void AppendLogfmt(std::string& line, std::string_view key, std::string_view value) {
  if (!line.empty()) line += ' ';
  line += key;
  line += '=';
  const bool quote = value.empty() || value.find_first_of(" =\"\\\t\n\r") != std::string_view::npos;
  if (!quote) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    switch (c) {
      case '"':
        line += "\\\"";
        break;
      case '\\':
        line += "\\\\";
        break;
      case '\n':
        line += "\\n";
        break;
      case '\r':
        line += "\\r";
        break;
      case '\t':
        line += "\\t";
        break;
      default:
        line += c;
    }
  }
  line += '"';
}

void AppendJson(std::string& line, std::string_view key, std::string_view value) {
  line += line.size() > 1 ? ",\"" : "\"";
  line += key;
  line += "\":\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        line += "\\\"";
        break;
      case '\\':
        line += "\\\\";
        break;
      case '\n':
        line += "\\n";
        break;
      case '\r':
        line += "\\r";
        break;
      case '\t':
        line += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          line += buf;
        } else {
          line += static_cast<char>(c);
        }
    }
  }
  line += '"';
}

}  // namespace

bool ParseLogLevel(std::string_view text, LogLevel& out) {
  for (auto l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LevelName(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

bool ParseLogFormat(std::string_view text, LogFormat& out) {
  if (text == "logfmt") {
    out = LogFormat::kLogfmt;
    return true;
  }
  if (text == "json") {
    out = LogFormat::kJson;
    return true;
  }
  return false;
}

Logger::Logger() : out_(&std::cerr) {}

Logger& Logger::Get() {
  static Logger logger;
  return logger;
}

void Logger::Configure(LogLevel level, LogFormat format, std::ostream* out) {
  std::lock_guard lock(mutex_);
  level_ = level;
  format_ = format;
  out_ = out;
}

void Logger::SetRedactor(config::Redactor redactor) {
  std::lock_guard lock(mutex_);
  redactor_ = std::move(redactor);
}

void Logger::Log(LogLevel level, std::string_view message, std::vector<LogField> fields) {
  if (!Enabled(level)) return;
  std::lock_guard lock(mutex_);
  std::string line;
  auto append = format_ == LogFormat::kJson ? AppendJson : AppendLogfmt;
  if (format_ == LogFormat::kJson) line = "{";
  append(line, "ts", Timestamp());
  append(line, "level", LevelName(level));
  append(line, "msg", redactor_.Empty() ? std::string(message) : redactor_.Redact(message));
  for (const auto& f : fields) {
    append(line, f.key, redactor_.Empty() ? f.value : redactor_.Redact(f.value));
  }
  if (format_ == LogFormat::kJson) line += '}';
  line += '\n';
  out_->write(line.data(), static_cast<std::streamsize>(line.size()));
  out_->flush();
}

}  // namespace sloprobe::daemon

#pragma once

#include <cstring>
#include <string>
#include <string_view>

// Incremental readers for streamed responses: fed bytes as they arrive, in
// pieces of any size, they hand out complete lines and events. Memory is
// bounded by the longest line (and, for SSE, the longest event), never the
// whole stream; every byte is looked at a constant number of times.
namespace sloprobe::probes {

// Splits bytes into lines ending in CRLF, LF or CR (a CR at the end of one
// piece and an LF at the start of the next are one break). Lines are handed
// out without their break.
class LineSplitter {
 public:
  // Calls on_line(std::string_view) for every line completed by `bytes`.
  // The view is valid only during the call.
  template <class OnLine>
  void Feed(std::string_view bytes, OnLine&& on_line) {
    const char* p = bytes.data();
    const char* const end = p + bytes.size();
    if (p != end && after_cr_) {
      after_cr_ = false;
      if (*p == '\n') ++p;
    }
    while (p != end) {
      const char* brk = FindBreak(p, end);
      if (brk == end) {
        partial_.append(p, end);
        return;
      }
      if (partial_.empty()) {
        on_line(std::string_view(p, static_cast<std::size_t>(brk - p)));
      } else {
        partial_.append(p, brk);
        on_line(std::string_view(partial_));
        partial_.clear();
      }
      p = brk + 1;
      if (*brk == '\r') {
        if (p == end) {
          after_cr_ = true;
        } else if (*p == '\n') {
          ++p;
        }
      }
    }
  }

  // Bytes received after the last line break: a line cut off by the end.
  std::size_t PendingSize() const { return partial_.size(); }

 private:
  static const char* FindBreak(const char* p, const char* end) {
    // memchr for LF is fast; CR-only streams are rare, so look for CR only
    // in the stretch before the next LF.
    const auto* lf =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* limit = lf == nullptr ? end : lf;
    const auto* cr =
        static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(limit - p)));
    if (cr != nullptr) return cr;
    return limit;
  }

  std::string partial_;
  bool after_cr_ = false;
};

// A Server-Sent Events parser following the WHATWG event-stream rules: one
// optional leading UTF-8 BOM; `:` lines are comments; the field name is
// before the first `:` and one leading space is stripped from the value;
// repeated `data` lines join with LF; a blank line dispatches; an event cut
// off by the end of the stream is discarded (see Finish).
class SseParser {
 public:
  struct Event {
    std::string_view type;  // "message" when the stream named none
    std::string_view data;
    std::string_view id;  // the last event ID seen so far
  };

  // Calls on_event(const Event&) for every event `bytes` completes; the
  // views are valid only during the call.
  template <class OnEvent>
  void Feed(std::string_view bytes, OnEvent&& on_event) {
    auto on_line = [&](std::string_view line) { Line(line, on_event); };
    if (bom_done_) {
      lines_.Feed(bytes, on_line);
      return;
    }
    // The first bytes are held until a BOM can be told apart from text.
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    head_.append(bytes);
    if (head_.size() < kBom.size() && kBom.starts_with(head_)) return;
    bom_done_ = true;
    const std::string head = std::move(head_);
    head_.clear();
    std::string_view rest = head;
    if (rest.starts_with(kBom)) rest.remove_prefix(kBom.size());
    lines_.Feed(rest, on_line);
  }

  // The stream ended. Returns true if an event (or a line) was cut off and
  // therefore discarded, as the rules require.
  bool Finish() const { return !head_.empty() || lines_.PendingSize() > 0 || has_data_; }

 private:
  template <class OnEvent>
  void Line(std::string_view line, OnEvent& on_event) {
    if (line.empty()) {
      Dispatch(on_event);
      return;
    }
    if (line.front() == ':') return;  // a comment
    const auto colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      data_.append(value);
      data_.push_back('\n');
      has_data_ = true;
    } else if (field == "event") {
      type_.assign(value);
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) id_.assign(value);
    }
    // "retry" and unknown fields are ignored.
  }

  template <class OnEvent>
  void Dispatch(OnEvent& on_event) {
    if (!has_data_) {
      type_.clear();
      return;
    }
    data_.pop_back();  // the LF after the last data line
    on_event(Event{type_.empty() ? std::string_view("message") : std::string_view(type_),
                   std::string_view(data_), std::string_view(id_)});
    data_.clear();
    type_.clear();
    has_data_ = false;
  }

  LineSplitter lines_;
  bool bom_done_ = false;
  std::string head_;
  std::string data_;
  std::string type_;
  std::string id_;
  bool has_data_ = false;
};

// Newline-delimited JSON (Ollama's streaming format): one value a line;
// blank lines are skipped.
class NdjsonReader {
 public:
  template <class OnLine>
  void Feed(std::string_view bytes, OnLine&& on_line) {
    lines_.Feed(bytes, [&](std::string_view line) {
      if (!line.empty()) on_line(line);
    });
  }

  // True if the stream ended inside a line.
  bool Finish() const { return lines_.PendingSize() > 0; }

 private:
  LineSplitter lines_;
};

}  // namespace sloprobe::probes

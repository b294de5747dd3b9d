#pragma once
// The Prometheus text exposition format, version 0.0.4, written in one place for the relay's and the
// admin API's metrics so that both lay out families, labels and numbers alike.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace dkr {

// A label value with the format's three escapes: backslash, double quote and line feed.
inline std::string prometheus_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// A number in plain decimal notation with the fewest digits that read back the same ("0.0005", "2.5",
// "10"): bucket bounds are label values, and scrapers compare them as text across scrapes.
inline std::string prometheus_number(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  if (ec != std::errc{}) return "0";
  return std::string(buffer, end);
}

class PrometheusText {
 public:
  // name="value" pairs in the order given; values are escaped here.
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // The "# HELP" and "# TYPE" lines that announce a family before its samples.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::string_view name, Labels labels, std::uint64_t value) { line(name, labels, std::to_string(value)); }
  void sample_signed(std::string_view name, Labels labels, std::int64_t value) {
    line(name, labels, std::to_string(value));
  }
  void sample_double(std::string_view name, Labels labels, double value) {
    line(name, labels, prometheus_number(value));
  }

  // A whole histogram family: `cumulative` has one count per bound plus the +Inf bucket, which is
  // also written as _count so that the two always agree.
  void histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                 std::span<const std::uint64_t> cumulative, double sum) {
    family(name, "histogram", help);
    const std::string bucket = std::string(name) + "_bucket";
    for (std::size_t i = 0; i < cumulative.size(); ++i) {
      const std::string le = i < bounds.size() ? prometheus_number(bounds[i]) : "+Inf";
      sample(bucket, {{"le", le}}, cumulative[i]);
    }
    line(std::string(name) + "_sum", {}, prometheus_number(sum));
    sample(std::string(name) + "_count", {}, cumulative.empty() ? 0 : cumulative.back());
  }

  const std::string& text() const& { return out_; }
  std::string text() && { return std::move(out_); }

 private:
  void line(std::string_view name, Labels labels, const std::string& value) {
    out_ += name;
    if (labels.size() != 0) {
      char separator = '{';
      for (const auto& [label, label_value] : labels) {
        out_ += separator;
        out_ += label;
        out_ += "=\"";
        out_ += prometheus_label_value(label_value);
        out_ += '"';
        separator = ',';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  std::string out_;
};

}  // namespace dkr

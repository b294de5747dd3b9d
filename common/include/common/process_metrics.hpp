#pragma once
// The standard process_* series (the names every Prometheus client library exports, so that stock
// dashboards and alerts work): CPU seconds, memory, file descriptors and start time, read from
// /proc/self at scrape time. Linux only, like the relay.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "common/prometheus_text.hpp"

namespace dkr {

namespace process_metrics_detail {

// The fields of /proc/self/stat after the command name, which may itself hold spaces and ')'.
inline std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> fields;
  const auto close = text.rfind(')');
  if (close == std::string::npos) return fields;
  std::istringstream rest(text.substr(close + 1));
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;  // fields[0] is field 3 of proc(5), "state"
}

inline double field(const std::vector<std::string>& fields, std::size_t proc5_number) {
  const std::size_t index = proc5_number - 3;
  if (index >= fields.size()) return 0;
  try {
    return std::stod(fields[index]);
  } catch (...) {
    return 0;
  }
}

inline double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return 0;
}

}  // namespace process_metrics_detail

inline void write_process_metrics(PrometheusText& out) {
  namespace d = process_metrics_detail;
  const auto fields = d::stat_fields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));

  out.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  out.sample_double("process_cpu_seconds_total", {}, (d::field(fields, 14) + d::field(fields, 15)) / ticks);
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.sample_double("process_resident_memory_bytes", {}, d::field(fields, 24) * page);
  out.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  out.sample_double("process_virtual_memory_bytes", {}, d::field(fields, 23));

  std::uint64_t open = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++open;
  }
  if (open > 0) --open;  // the descriptor of the directory listing itself
  out.family("process_open_fds", "gauge", "Number of open file descriptors.");
  out.sample("process_open_fds", {}, open);

  rlimit limit{};
  const bool have_limit = getrlimit(RLIMIT_NOFILE, &limit) == 0;
  out.family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
  out.sample_double("process_max_fds", {}, have_limit ? static_cast<double>(limit.rlim_cur) : 0);

  out.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  out.sample_double("process_start_time_seconds", {}, d::boot_time_seconds() + d::field(fields, 22) / ticks);
}

}  // namespace dkr

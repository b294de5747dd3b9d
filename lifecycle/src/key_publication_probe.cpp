#include "lifecycle/key_publication_probe.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

namespace dkr::lifecycle {

std::vector<ProbeResult> KeyPublicationProbe::probe_all(const std::vector<ProbeRequest>& requests,
                                                        std::size_t max_in_flight) {
  std::vector<ProbeResult> results(requests.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < requests.size(); i = next++) {
      results[i] = probe(requests[i].domain, requests[i].selector, requests[i].expected_record);
    }
  };
  const std::size_t workers = std::min(requests.size(), std::max<std::size_t>(1, max_in_flight));
  if (workers <= 1) {
    work();
    return results;
  }
  std::vector<std::jthread> threads;
  threads.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) threads.emplace_back(work);
  threads.clear();  // joins
  return results;
}

}  // namespace dkr::lifecycle

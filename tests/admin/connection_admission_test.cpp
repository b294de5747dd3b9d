// Issue 24 item 7: the admin listener's admission per address, in total, and the loopback reserve.
#include <doctest/doctest.h>

#include <vector>

#include "connection_admission.hpp"

using dkr::admin::ConnectionAdmission;

TEST_CASE("admin admission: per address, in total, and the last slots only for loopback") {
  auto admission = std::make_shared<ConnectionAdmission>(6, 2, 2);
  ConnectionAdmission::Refusal why;
  std::vector<std::shared_ptr<void>> held;
  held.push_back(admission->admit("192.0.2.1", false, why));
  held.push_back(admission->admit("192.0.2.1", false, why));
  CHECK(held[0]);
  CHECK(held[1]);
  CHECK_FALSE(admission->admit("192.0.2.1", false, why));  // a third from one address
  CHECK(why.reason.find("admin.max_connections_per_address") != std::string::npos);
  held.push_back(admission->admit("192.0.2.2", false, why));
  held.push_back(admission->admit("192.0.2.2", false, why));
  CHECK(admission->open() == 4);
  // 6 in all, 2 kept for loopback: a fifth non-loopback client is refused, loopback gets in.
  CHECK_FALSE(admission->admit("192.0.2.3", false, why));
  CHECK(why.reason.find("admin.loopback_reserved_connections") != std::string::npos);
  held.push_back(admission->admit("127.0.0.1", true, why));
  held.push_back(admission->admit("::1", true, why));
  CHECK(held[4]);
  CHECK(held[5]);
  CHECK_FALSE(admission->admit("127.0.0.2", true, why));  // the total
  CHECK(why.reason.find("admin.max_connections") != std::string::npos);
  // A session's end frees its slot.
  held[0].reset();
  CHECK(admission->open() == 5);
  CHECK(admission->admit("192.0.2.1", false, why) == nullptr);  // still over the non-loopback share
  held[5].reset();
  held[4].reset();
  CHECK(admission->admit("192.0.2.1", false, why) != nullptr);
}

TEST_CASE("admin admission: a reserve as large as the total still lets one other client in") {
  auto admission = std::make_shared<ConnectionAdmission>(2, 8, 8);
  ConnectionAdmission::Refusal why;
  auto first = admission->admit("192.0.2.1", false, why);
  CHECK(first);
  CHECK_FALSE(admission->admit("192.0.2.2", false, why));
  CHECK(admission->admit("127.0.0.1", true, why));
}

#include "relay/network_range.hpp"

namespace dkr::relay {

bool in_range(const Cidr& range, const boost::asio::ip::address& address) {
  if (address.is_v4()) return range.contains(address.to_v4().to_bytes(), true);
  return range.contains(address.to_v6().to_bytes(), false);
}

}  // namespace dkr::relay

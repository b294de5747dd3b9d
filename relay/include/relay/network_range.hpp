#pragma once
// Matching a client's address against an address range for relay permission; the ranges are
// common's Cidr, parsed by parse_cidr as config reads them.
#include <boost/asio/ip/address.hpp>

#include "common/cidr.hpp"

namespace dkr::relay {

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports) matches IPv4
// ranges, so that allowing 127.0.0.0/8 also works on a "[::]" listener.
bool in_range(const Cidr& range, const boost::asio::ip::address& address);

}  // namespace dkr::relay

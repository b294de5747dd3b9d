#pragma once
// The executor the SMTP client's coroutines run on: a strand of one io_context, as a concrete type.
// Through asio's type-erased any_io_executor, every co_await, post and timer wait wrapped a new
// copy of the strand in a heap-allocated executor: about 600 allocations per relayed 2 KB message
// (callgrind, bench/relay/README.md). The concrete type is copied in place.
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange without it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dkr::upstream {

using UpstreamIo = boost::asio::io_context::executor_type;
using UpstreamStrand = boost::asio::strand<UpstreamIo>;
template <class T>
using UpstreamTask = boost::asio::awaitable<T, UpstreamStrand>;
inline constexpr boost::asio::use_awaitable_t<UpstreamStrand> use_upstream_task{};

// The io_context that runs `executor`: a session's strand (or an io_context's own executor).
// Anything else is a programming error (std::logic_error).
boost::asio::io_context& io_context_of(const boost::asio::any_io_executor& executor);

}  // namespace dkr::upstream

#pragma once
// The relay answers its clients in the upstream's terms (an upstream reply reaches the client as it
// is), so the names of upstream/ that the whole session speaks are used unqualified in relay/.
#include "upstream/message_spool.hpp"
#include "upstream/smtp_reply.hpp"
#include "upstream/upstream.hpp"

namespace dkr::relay {

using upstream::make_reply;
using upstream::MessageSpool;
using upstream::OutboundMessage;
using upstream::ReplyHandler;
using upstream::SmtpReply;
using upstream::Upstream;
using upstream::UpstreamTransaction;

}  // namespace dkr::relay

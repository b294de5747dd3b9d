#pragma once
// Tells systemd (Type=notify, packaging/debian/dkim-relay.service) where the relay is in its life:
// ready once it listens, reloading during a SIGHUP, stopping once a stop signal arrived. Without
// NOTIFY_SOCKET in the environment (not started by systemd) every call does nothing.

namespace dkr::app::service_notifier {

void ready();      // READY=1: the SMTP listener (and the admin API) accept connections
void reloading();  // RELOADING=1: a SIGHUP reload began; ready() follows when it is done
void stopping();   // STOPPING=1: draining the sessions, then exiting

}  // namespace dkr::app::service_notifier

#include "service_notifier.hpp"

#include <systemd/sd-daemon.h>

namespace dkr::app::service_notifier {

// sd_notify's result is ignored on purpose: a lost notification is systemd's timeout to report,
// not a reason for the relay to stop serving mail.
void ready() { (void)sd_notify(0, "READY=1\nSTATUS=accepting mail"); }
void reloading() { (void)sd_notify(0, "RELOADING=1\nSTATUS=reloading the keystore"); }
void stopping() { (void)sd_notify(0, "STOPPING=1\nSTATUS=draining sessions"); }

}  // namespace dkr::app::service_notifier

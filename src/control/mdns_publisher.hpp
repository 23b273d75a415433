#pragma once
// What the control service asks of whoever advertises the device over mDNS: the built-in
// responder (mdns_responder.hpp, dante.mdns = builtin) or avahi-daemon through
// AvahiPublisher (dante.mdns = avahi). The responder runs on the control service's event
// loop, Avahi on a thread of its own; every call may come from any one thread.

#include <string>
#include <vector>

#include "config/device_config.hpp"
#include "control/mdns_records.hpp"

namespace dante::control {

class MdnsPublisher {
public:
    virtual ~MdnsPublisher() = default;
    // Starts advertising `records` for `device_name`. False only if the publisher's thread
    // cannot run at all; an unreachable daemon or a busy port is reported in properties().
    virtual bool start(std::vector<ServiceRecord> records, std::string device_name) = 0;
    // Replaces the advertised set (a rename, a channel label, a multicast flow).
    virtual void republish(std::vector<ServiceRecord> records, std::string device_name) = 0;
    // Withdraws everything (goodbye packets) and stops the thread.
    virtual void stop() = 0;
    // dante.mdns.* node properties.
    [[nodiscard]] virtual ConfigItems properties() const = 0;
};

}  // namespace dante::control

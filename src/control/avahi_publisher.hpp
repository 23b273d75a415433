#pragma once
// Publishes the device's DNS-SD service set (control/mdns_records) through the system's
// avahi-daemon, on one interface and IPv4 only.
//
// libavahi-client with its own threaded poll: every Avahi call runs on that thread or under
// its lock, so start(), republish() and stop() may be called from any one thread.
//
//  - Each service record gets its own entry group: a name collision on one channel instance
//    (someone else already announces "01@studio-pc") withdraws that instance only, not the
//    whole device. We never pick an alternative name (a receiver subscribes by name, and a
//    silently renamed device would break every subscription): the collision is counted and
//    reported in the properties, and the instance stays withdrawn until the next republish.
//  - SRV target: "<device name>.local", for which we publish an A record of the interface's
//    address, as Dante devices do (all of a device's services share one target host name).
//    When avahi's own host name is the device name, avahi already answers for that name and
//    we use it; when our A record collides, the services fall back to avahi's host name.
//  - Avahi cannot set per-record TTLs (ARC's 4500 s) nor publish empty TXT strings; both
//    are left at Avahi's defaults / left out.
//  - Only through an avahi-daemon of our own network namespace (control/daemon_network.hpp):
//    each time a daemon comes up it is asked, over the system bus, for the names of our
//    interface indexes (and its pid's namespace is compared when we can read it); a daemon
//    of another namespace gets nothing, state() says "unavailable" with the reason in
//    last_error, and it is asked again every few seconds.
//  - avahi-daemon absent or restarted: the client is (re)created with AVAHI_CLIENT_NO_FAIL,
//    so it waits for the daemon and registers everything again when it comes back. Without
//    a system D-Bus at all it retries every few seconds. Either way the caller never fails:
//    state() says "unavailable" meanwhile.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/device_config.hpp"
#include "control/mdns_publisher.hpp"
#include "control/mdns_records.hpp"
#include "util/logger.hpp"

namespace dante::control {

struct MdnsStats {
    std::string state = "stopped";  // stopped, unavailable, registering, published, collision
    uint64_t registered = 0;        // service instances currently established
    uint64_t collisions = 0;        // name collisions seen (never resolved by renaming)
    uint64_t reconnects = 0;        // client recreated after losing the daemon
    uint64_t republishes = 0;
    std::string last_error;
};

class AvahiPublisher : public MdnsPublisher {
public:
    // interface_index: if_nametoindex of the Dante interface; ipv4 host order (A record).
    AvahiPublisher(int interface_index, uint32_t ipv4, Logger log = {});
    ~AvahiPublisher() override;
    AvahiPublisher(const AvahiPublisher&) = delete;
    AvahiPublisher& operator=(const AvahiPublisher&) = delete;

    // Starts the Avahi thread and registers `records` for `device_name` as soon as the daemon
    // is reachable. False only if the poll thread itself cannot be created (then state()
    // stays "unavailable"); a missing daemon is not a failure.
    bool start(std::vector<ServiceRecord> records, std::string device_name) override;
    // Replace the published set. After a device rename: withdraws every old instance and
    // announces the new set. With the same device name (a channel renamed, a multicast flow
    // created or deleted): only what differs, so receivers watching the rest see nothing
    // happen; an instance still in the set keeps its entry group, a TXT change (`b.N`) is
    // announced in place, instances that left are withdrawn, new ones registered.
    void republish(std::vector<ServiceRecord> records, std::string device_name) override;
    void stop() override;

    [[nodiscard]] MdnsStats stats() const;
    // dante.mdns.* node properties.
    [[nodiscard]] ConfigItems properties() const override;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace dante::control

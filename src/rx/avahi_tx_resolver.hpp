#pragma once
// The TxResolver of a device's receiver: finds a Dante transmitter by name through the
// local avahi-daemon, as Dante receivers do (src/rx/mdns_resolve.hpp): the device's
// address and flow-control port from its `_netaudio-arc._udp` and `_netaudio-chan._udp`
// instances, then each subscribed channel's id from the TXT of `<channel>@<device>`, then
// whether one multicast bundle of the device carries them all (their `b.N` pointers and the
// bundle's TXT): then the channels are received from its group.
//
// avahi's lookups block (they run their own poll loop), so they run on one worker thread
// ("dante-resolve"), never on the device's event loop. Requests are served one at a time,
// in order; a request for the same device and channels as one still waiting in the queue
// replaces it (whose answer would be stale: RxService asks again only when it gave up on
// it), so the queue never holds more than one request per flow. A device's address is
// looked up once for all the flows that ask within a second.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rx/mdns_resolve.hpp"
#include "rx/rx_service.hpp"
#include "util/logger.hpp"

namespace dante::rx {

struct AvahiTxResolverOptions {
    // The lookups of one resolution; together below RxServiceOptions::resolve_timeout_ms,
    // so an answer comes before the service gives up on it. Each ends as soon as every
    // answer is in; the bounds matter only when something does not answer.
    int device_timeout_ms = 2000;
    int channels_timeout_ms = 1200;
    int bundle_timeout_ms = 1200;
    // Channels a multicast bundle carries are received from its group, as Dante receivers
    // do; true asks for a unicast flow anyway.
    bool prefer_unicast = false;
    Logger log;
};

class AvahiTxResolver final : public TxResolver {
public:
    explicit AvahiTxResolver(AvahiTxResolverOptions options = {});
    // Answers what is queued with "not found", cancels the lookup in progress (it ends
    // within 100 ms), joins the worker: an unload never waits out a lookup's timeout.
    ~AvahiTxResolver() override;
    AvahiTxResolver(const AvahiTxResolver&) = delete;
    AvahiTxResolver& operator=(const AvahiTxResolver&) = delete;

    void resolve(const std::string& tx_device, const std::vector<std::string>& tx_channels, Done done) override;

private:
    struct Request {
        std::string device;
        std::vector<std::string> channels;
        Done done;
    };
    void run();
    std::optional<TxResolution> lookup(const Request& request);
    // resolve_device(), or its answer of the last second: the flows of one device (up to
    // 8 for 64 channels) ask one after another, and one lookup (or one wait for a device
    // that is not there) answers them all.
    ResolveResult find_device(const std::string& name);
    struct RecentDevice {
        std::chrono::steady_clock::time_point at;
        ResolveResult result;
    };
    static constexpr std::chrono::seconds kDeviceReuse{1};
    std::map<std::string, RecentDevice> recent_;  // worker thread only

    AvahiTxResolverOptions options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Request> queue_;
    bool stopping_ = false;
    std::atomic<bool> cancel_{false};  // set with stopping_; read by the lookup in progress
    std::thread worker_;
};

}  // namespace dante::rx

#include "rx/avahi_tx_resolver.hpp"

#include <pthread.h>

#include <algorithm>

#include "rx/mdns_resolve.hpp"

namespace dante::rx {

AvahiTxResolver::AvahiTxResolver(AvahiTxResolverOptions options) : options_(std::move(options)) {
    worker_ = std::thread([this] { run(); });
    pthread_setname_np(worker_.native_handle(), "dante-resolve");
}

AvahiTxResolver::~AvahiTxResolver() {
    std::deque<Request> left;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        left.swap(queue_);
    }
    cancel_.store(true, std::memory_order_relaxed);
    wake_.notify_all();
    worker_.join();
    for (Request& request : left) request.done(std::nullopt);
}

void AvahiTxResolver::resolve(const std::string& tx_device, const std::vector<std::string>& tx_channels, Done done) {
    Done superseded;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            superseded = std::move(done);
        } else {
            auto same = std::find_if(queue_.begin(), queue_.end(),
                                     [&](const Request& r) { return r.device == tx_device; });
            if (same != queue_.end()) {
                superseded = std::move(same->done);
                same->channels = tx_channels;
                same->done = std::move(done);
            } else {
                queue_.push_back(Request{tx_device, tx_channels, std::move(done)});
            }
        }
    }
    wake_.notify_one();
    // Outside the lock: `done` may call back into whoever asked.
    if (superseded) superseded(std::nullopt);
}

void AvahiTxResolver::run() {
    for (;;) {
        Request request;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            request = std::move(queue_.front());
            queue_.pop_front();
        }
        request.done(lookup(request));
    }
}

std::optional<TxResolution> AvahiTxResolver::lookup(const Request& request) const {
    const ResolveResult found = resolve_device(request.device, options_.device_timeout_ms, &cancel_);
    if (!found.device) {
        options_.log.info("rx", found.error);
        return std::nullopt;
    }
    TxResolution answer;
    answer.flow_control = Ipv4Endpoint{found.device->address, found.device->flow_control_port};
    const std::string failure = resolve_channel_ids(*found.device, request.channels, options_.channels_timeout_ms,
                                                    answer.channel_ids, &cancel_);
    if (!failure.empty()) {
        options_.log.info("rx", "cannot look up the channels of '" + request.device + "': " + failure);
        return std::nullopt;
    }
    if (options_.prefer_unicast) return answer;
    // No bundle (the usual case: unicast) is not an error and not logged.
    const BundleLookup bundle =
        resolve_bundle(*found.device, answer.channel_ids, options_.bundle_timeout_ms, &cancel_);
    if (bundle.route) {
        const BundleRoute& route = *bundle.route;
        answer.multicast = TxMulticast{Ipv4Endpoint{route.group, route.port}, route.slots, route.encoding_bits / 8,
                                       route.slot_of_channel};
    }
    return answer;
}

}  // namespace dante::rx

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
            // The same question asked again (a flow that gave up waiting) replaces the queued
            // one; the flows of one device ask for other channels, and are each answered.
            auto same = std::find_if(queue_.begin(), queue_.end(), [&](const Request& r) {
                return r.device == tx_device && r.channels == tx_channels;
            });
            if (same != queue_.end()) {
                superseded = std::move(same->done);
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

ResolveResult AvahiTxResolver::find_device(const std::string& name) {
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(recent_, [&](const auto& entry) { return now - entry.second.at > kDeviceReuse; });
    if (const auto it = recent_.find(name); it != recent_.end()) return it->second.result;
    ResolveResult found = resolve_device(name, options_.device_timeout_ms, &cancel_);
    recent_[name] = RecentDevice{now, found};
    return found;
}

std::optional<TxResolution> AvahiTxResolver::lookup(const Request& request) {
    const ResolveResult found = find_device(request.device);
    if (!found.device) {
        options_.log.info("rx", found.error);
        return std::nullopt;
    }
    TxResolution answer;
    answer.flow_control = Ipv4Endpoint{found.device->address, found.device->flow_control_port};
    ChannelFlowFormat format;
    const std::string failure = resolve_channel_ids(*found.device, request.channels, options_.channels_timeout_ms,
                                                    answer.channel_ids, &cancel_, &format);
    answer.max_channels_per_flow = format.max_channels_per_flow;
    answer.encoding_bits = format.encoding_bits;
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

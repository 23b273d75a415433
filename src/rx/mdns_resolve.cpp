#include "rx/mdns_resolve.hpp"

#include <arpa/inet.h>
#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/simple-watch.h>
#include <net/if.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

#include "control/control_ports.hpp"
#include "control/mdns_records.hpp"
#include "net/ipv4.hpp"
#include "util/clock_now.hpp"

namespace dante::rx {
namespace {

int64_t monotonic_ms() { return monotonic_now_ns() / 1'000'000; }

// A resolved service instance, IPv4.
struct Found {
    AvahiIfIndex interface = AVAHI_IF_UNSPEC;
    std::string instance;
    std::string host_name;
    uint32_t address = 0;
    uint16_t port = 0;
    uint32_t rate = 0, encoding_bits = 0;
    uint64_t latency_ns = 0;
};

struct Lookup;

// One resolver we started: which kind, and whether it has answered (or failed) yet.
struct Pending {
    Lookup* lookup = nullptr;
    bool arc = false;
    bool answered = false;
    AvahiServiceResolver* resolver = nullptr;
};

struct Lookup {
    std::string name;
    AvahiClient* client = nullptr;
    std::vector<std::unique_ptr<Pending>> pending;
    std::vector<Found> arcs, channels;
    bool channels_all_for_now = false;
    std::string failure;  // the daemon went away or refused something
};

uint64_t txt_number(AvahiStringList* txt, const char* key) {
    AvahiStringList* item = avahi_string_list_find(txt, key);
    if (item == nullptr) return 0;
    char* k = nullptr;
    char* v = nullptr;
    if (avahi_string_list_get_pair(item, &k, &v, nullptr) != 0) return 0;
    uint64_t value = 0;
    if (v != nullptr) {
        char* end = nullptr;
        value = std::strtoull(v, &end, 0);  // base 0: TXT values may be decimal or 0x-hex
        if (end == v || *end != '\0') value = 0;
    }
    avahi_free(k);
    avahi_free(v);
    return value;
}

void on_resolved(AvahiServiceResolver*, AvahiIfIndex interface, AvahiProtocol, AvahiResolverEvent event,
                 const char* name, const char*, const char*, const char* host_name, const AvahiAddress* address,
                 uint16_t port, AvahiStringList* txt, AvahiLookupResultFlags, void* userdata) {
    auto* pending = static_cast<Pending*>(userdata);
    pending->answered = true;
    if (event != AVAHI_RESOLVER_FOUND || address == nullptr || address->proto != AVAHI_PROTO_INET) return;
    Found found;
    found.interface = interface;
    found.instance = name != nullptr ? name : "";
    found.host_name = host_name != nullptr ? host_name : "";
    found.address = ntohl(address->data.ipv4.address);
    found.port = port;
    if (pending->arc) {
        pending->lookup->arcs.push_back(found);
        return;
    }
    found.rate = static_cast<uint32_t>(txt_number(txt, "rate"));
    found.encoding_bits = static_cast<uint32_t>(txt_number(txt, "enc"));
    if (found.encoding_bits == 0) found.encoding_bits = static_cast<uint32_t>(txt_number(txt, "en"));
    found.latency_ns = txt_number(txt, "latency_ns");
    pending->lookup->channels.push_back(found);
}

void resolve(Lookup& lookup, bool arc, AvahiIfIndex interface, AvahiProtocol protocol, const char* name,
             const char* type, const char* domain) {
    auto pending = std::make_unique<Pending>();
    pending->lookup = &lookup;
    pending->arc = arc;
    pending->resolver = avahi_service_resolver_new(lookup.client, interface, protocol, name, type, domain,
                                                   AVAHI_PROTO_INET, static_cast<AvahiLookupFlags>(0), on_resolved,
                                                   pending.get());
    if (pending->resolver == nullptr) {
        lookup.failure = std::string("avahi-daemon refused to resolve ") + name + ": " +
                         avahi_strerror(avahi_client_errno(lookup.client));
        return;
    }
    lookup.pending.push_back(std::move(pending));
}

void on_arc_browse(AvahiServiceBrowser*, AvahiIfIndex interface, AvahiProtocol protocol, AvahiBrowserEvent event,
                   const char* name, const char* type, const char* domain, AvahiLookupResultFlags, void* userdata) {
    auto& lookup = *static_cast<Lookup*>(userdata);
    if (event == AVAHI_BROWSER_FAILURE) {
        lookup.failure = std::string("browsing failed: ") + avahi_strerror(avahi_client_errno(lookup.client));
        return;
    }
    if (event != AVAHI_BROWSER_NEW || protocol != AVAHI_PROTO_INET || name == nullptr) return;
    if (dns_name_equal(name, lookup.name)) resolve(lookup, true, interface, protocol, name, type, domain);
}

void on_channel_browse(AvahiServiceBrowser*, AvahiIfIndex interface, AvahiProtocol protocol, AvahiBrowserEvent event,
                       const char* name, const char* type, const char* domain, AvahiLookupResultFlags,
                       void* userdata) {
    auto& lookup = *static_cast<Lookup*>(userdata);
    if (event == AVAHI_BROWSER_FAILURE) {
        lookup.failure = std::string("browsing failed: ") + avahi_strerror(avahi_client_errno(lookup.client));
        return;
    }
    if (event == AVAHI_BROWSER_ALL_FOR_NOW) lookup.channels_all_for_now = true;
    if (event != AVAHI_BROWSER_NEW || protocol != AVAHI_PROTO_INET || name == nullptr) return;
    if (is_channel_of(name, lookup.name)) resolve(lookup, false, interface, protocol, name, type, domain);
}

void on_client_state(AvahiClient* client, AvahiClientState state, void* userdata) {
    if (state != AVAHI_CLIENT_FAILURE || userdata == nullptr) return;
    static_cast<Lookup*>(userdata)->failure =
        std::string("lost the connection to avahi-daemon: ") + avahi_strerror(avahi_client_errno(client));
}

// The answer, once there is one: the first ARC instance resolved, and a channel instance
// on its interface and address; or, when the channel browse has said "all for now" and
// every channel resolver has answered without one, the ARC alone (derived port).
std::optional<ResolvedDevice> answer(const Lookup& lookup, bool give_up_waiting_for_channels) {
    if (lookup.arcs.empty()) return std::nullopt;
    const Found& arc = lookup.arcs.front();
    ResolvedDevice device;
    device.name = arc.instance;
    char ifname[IF_NAMESIZE] = {};
    if (if_indextoname(static_cast<unsigned>(arc.interface), ifname) != nullptr) device.interface = ifname;
    device.address = arc.address;
    device.host_name = arc.host_name;
    device.arc_port = arc.port;
    for (const Found& channel : lookup.channels) {
        if (channel.interface != arc.interface || channel.address != arc.address) continue;
        device.flow_control_port = channel.port;
        device.channel_instance = channel.instance;
        device.rate = channel.rate;
        device.encoding_bits = channel.encoding_bits;
        device.latency_ns = channel.latency_ns;
        return device;
    }
    const bool channels_pending = std::any_of(lookup.pending.begin(), lookup.pending.end(),
                                              [](const auto& p) { return !p->arc && !p->answered; });
    if (!give_up_waiting_for_channels && (!lookup.channels_all_for_now || channels_pending)) return std::nullopt;
    device.flow_control_port = flow_control_port_for_arc_port(arc.port);
    return device;
}

std::string seconds_text(int timeout_ms) {
    char text[32];
    std::snprintf(text, sizeof text, "%g s", timeout_ms / 1000.0);
    return text;
}

// ---- resolving named instances (resolve_bundle)

// One instance resolved by name: its whole TXT as key -> value (bare strings map to "").
struct TxtAnswer {
    bool answered = false;
    bool found = false;
    TxtMap txt;
};

void on_txt_resolved(AvahiServiceResolver*, AvahiIfIndex, AvahiProtocol, AvahiResolverEvent event, const char*,
                     const char*, const char*, const char*, const AvahiAddress*, uint16_t, AvahiStringList* txt,
                     AvahiLookupResultFlags, void* userdata) {
    auto* answer = static_cast<TxtAnswer*>(userdata);
    if (answer->answered) return;
    answer->answered = true;
    if (event != AVAHI_RESOLVER_FOUND) return;
    answer->found = true;
    for (AvahiStringList* item = txt; item != nullptr; item = avahi_string_list_get_next(item)) {
        char* k = nullptr;
        char* v = nullptr;
        if (avahi_string_list_get_pair(item, &k, &v, nullptr) != 0) continue;
        answer->txt[k] = v != nullptr ? v : "";
        avahi_free(k);
        avahi_free(v);
    }
}

bool cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(std::memory_order_relaxed); }

// Resolves every instance of `names` of `type` on interface `ifindex`, in parallel, until
// each has answered or `deadline_ms` (monotonic) passed. "" or why the lookup itself failed.
std::string resolve_named(int ifindex, const char* type, const std::vector<std::string>& names, int64_t deadline_ms,
                          std::vector<TxtAnswer>& answers, const std::atomic<bool>* cancel) {
    answers.assign(names.size(), TxtAnswer{});
    std::unique_ptr<AvahiSimplePoll, decltype(&avahi_simple_poll_free)> poll(avahi_simple_poll_new(),
                                                                            avahi_simple_poll_free);
    if (!poll) return "out of memory";
    int error = 0;
    AvahiClient* client = avahi_client_new(avahi_simple_poll_get(poll.get()), static_cast<AvahiClientFlags>(0),
                                           nullptr, nullptr, &error);
    if (client == nullptr) return std::string("no avahi-daemon reachable (") + avahi_strerror(error) + ")";
    std::string failure;
    std::vector<AvahiServiceResolver*> resolvers;
    for (size_t i = 0; i < names.size() && failure.empty(); ++i) {
        AvahiServiceResolver* resolver = avahi_service_resolver_new(
            client, ifindex, AVAHI_PROTO_INET, names[i].c_str(), type, nullptr, AVAHI_PROTO_INET,
            static_cast<AvahiLookupFlags>(0), on_txt_resolved, &answers[i]);
        if (resolver == nullptr)
            failure = "avahi-daemon refused to resolve " + names[i] + ": " + avahi_strerror(avahi_client_errno(client));
        else
            resolvers.push_back(resolver);
    }
    while (failure.empty()) {
        if (std::all_of(answers.begin(), answers.end(), [](const TxtAnswer& a) { return a.answered; })) break;
        if (cancelled(cancel)) break;
        const int64_t left = deadline_ms - monotonic_ms();
        if (left <= 0) break;
        if (avahi_simple_poll_iterate(poll.get(), static_cast<int>(std::min<int64_t>(left, 100))) != 0)
            failure = "the avahi event loop failed";
    }
    for (AvahiServiceResolver* resolver : resolvers) avahi_service_resolver_free(resolver);
    avahi_client_free(client);
    return failure;
}

// An unsigned number, decimal or 0x-hex (as TXT values are written), or nullopt.
std::optional<uint64_t> parse_number(const std::string& text) {
    if (text.empty() || text[0] == '-' || text[0] == '+' || std::isspace(static_cast<unsigned char>(text[0])))
        return std::nullopt;
    char* end = nullptr;
    const uint64_t value = std::strtoull(text.c_str(), &end, 0);
    if (end == text.c_str() || *end != '\0') return std::nullopt;
    return value;
}

std::optional<uint64_t> txt_value(const TxtMap& txt, const std::string& key) {
    const auto it = txt.find(key);
    return it == txt.end() ? std::nullopt : parse_number(it->second);
}

}  // namespace

std::map<uint16_t, uint16_t> bundle_pointers(const TxtMap& txt) {
    std::map<uint16_t, uint16_t> pointers;
    for (const auto& [key, value] : txt) {
        if (!key.starts_with("b.")) continue;
        const auto bundle = parse_number(key.substr(2));
        const auto slot = parse_number(value);
        if (bundle && slot && *bundle > 0 && *bundle <= 0xFFFF && *slot > 0 && *slot <= 0xFFFF)
            pointers[static_cast<uint16_t>(*bundle)] = static_cast<uint16_t>(*slot);
    }
    return pointers;
}

bool choose_bundle(const std::vector<uint16_t>& channels,
                   const std::map<uint16_t, std::map<uint16_t, uint16_t>>& pointers, BundleRoute& route,
                   std::string& why_not) {
    std::vector<uint16_t> ids;  // the distinct asked channels
    for (uint16_t id : channels)
        if (id != 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    if (ids.empty()) {
        why_not = "no channel asked for";
        return false;
    }
    std::map<uint16_t, size_t> carried;  // bundle -> how many of them it has
    for (uint16_t id : ids) {
        const auto found = pointers.find(id);
        if (found == pointers.end() || found->second.empty()) {
            why_not = "channel " + std::to_string(id) + " carries no b.N pointer (no multicast flow has it)";
            return false;
        }
        for (const auto& entry : found->second) ++carried[entry.first];
    }
    const size_t distinct = ids.size();
    const auto common = std::find_if(carried.begin(), carried.end(),
                                     [&](const auto& entry) { return entry.second == distinct; });
    if (common == carried.end()) {
        why_not = "no one multicast bundle carries all the channels asked for";
        return false;
    }
    route.bundle = common->first;
    route.slot_of_channel.clear();
    for (uint16_t id : channels) route.slot_of_channel.push_back(id == 0 ? 0 : pointers.at(id).at(route.bundle));
    return true;
}

bool read_bundle_txt(const TxtMap& txt, BundleRoute& route, std::string& why_not) {
    const auto group_text = txt.find("a.0");
    const uint32_t group = group_text == txt.end() ? 0 : parse_ipv4(group_text->second).value_or(0);
    const auto port = txt_value(txt, "p.0");
    const auto nchan = txt_value(txt, "nchan");
    auto enc = txt_value(txt, "enc");
    if (!enc) enc = txt_value(txt, "en");
    const auto fpp = txt_value(txt, "fpp");
    const auto latency = txt_value(txt, "latency_ns");
    const std::string who = route.instance.empty() ? std::string("the bundle") : route.instance;
    if (!is_multicast(group) || !port || *port == 0 || *port > 0xFFFF || !nchan || *nchan == 0 ||
        *nchan > 64 || !enc || (*enc != 16 && *enc != 24 && *enc != 32) || !fpp || *fpp == 0 || *fpp > 256) {
        why_not = who + " has no usable a.0, p.0, nchan, enc or fpp in its TXT";
        return false;
    }
    route.group = group;
    route.port = static_cast<uint16_t>(*port);
    route.slots = static_cast<uint32_t>(*nchan);
    route.encoding_bits = static_cast<uint32_t>(*enc);
    route.fpp = static_cast<uint32_t>(*fpp);
    route.latency_ns = latency.value_or(0);
    for (size_t i = 0; i < route.slot_of_channel.size(); ++i)
        if (route.slot_of_channel[i] > route.slots) {
            why_not = "a channel points at slot " + std::to_string(route.slot_of_channel[i]) + " of " + who +
                      ", which has " + std::to_string(route.slots);
            return false;
        }
    return true;
}

uint16_t channel_id_of(const TxtMap& txt) {
    const std::optional<uint64_t> id = txt_value(txt, "id");
    return id && *id >= 1 && *id <= 0xffff ? static_cast<uint16_t>(*id) : 0;
}

std::string resolve_channel_ids(const ResolvedDevice& device, const std::vector<std::string>& names, int timeout_ms,
                                std::vector<uint16_t>& ids, const std::atomic<bool>* cancel,
                                ChannelFlowFormat* format) {
    ids.assign(names.size(), 0);
    if (format) *format = {};
    const int ifindex = static_cast<int>(if_nametoindex(device.interface.c_str()));
    if (ifindex == 0) return "interface " + device.interface + " is gone";
    std::vector<std::string> instances;
    instances.reserve(names.size());
    for (const std::string& name : names) instances.push_back(name + "@" + device.name);
    std::vector<TxtAnswer> answers;
    std::string failure =
        resolve_named(ifindex, control::kChannelServiceType, instances, monotonic_ms() + timeout_ms, answers, cancel);
    if (!failure.empty()) return failure;
    for (size_t i = 0; i < answers.size(); ++i) {
        if (!answers[i].found) continue;
        ids[i] = channel_id_of(answers[i].txt);
        if (!format) continue;
        const std::optional<uint64_t> nchan = txt_value(answers[i].txt, "nchan");
        if (nchan && *nchan >= 1 && *nchan <= 64 &&
            (format->max_channels_per_flow == 0 || *nchan < format->max_channels_per_flow))
            format->max_channels_per_flow = static_cast<uint32_t>(*nchan);
        const std::optional<uint64_t> enc = txt_value(answers[i].txt, "enc");
        if (format->encoding_bits == 0 && enc && (*enc == 16 || *enc == 24 || *enc == 32))
            format->encoding_bits = static_cast<uint32_t>(*enc);
    }
    return {};
}

std::string factory_channel_instance(uint16_t id, const std::string& device) {
    char number[8];
    std::snprintf(number, sizeof number, "%02u", static_cast<unsigned>(id));
    return std::string(number) + "@" + device;
}

BundleLookup resolve_bundle(const ResolvedDevice& device, const std::vector<uint16_t>& channels, int timeout_ms,
                            const std::atomic<bool>* cancel) {
    BundleLookup lookup;
    const int64_t deadline = monotonic_ms() + timeout_ms;
    const int ifindex = static_cast<int>(if_nametoindex(device.interface.c_str()));
    if (ifindex == 0) {
        lookup.why_not = "interface " + device.interface + " is gone";
        return lookup;
    }
    std::vector<uint16_t> ids;
    std::vector<std::string> names;
    for (uint16_t id : channels)
        if (id != 0 && std::find(ids.begin(), ids.end(), id) == ids.end()) {
            ids.push_back(id);
            names.push_back(factory_channel_instance(id, device.name));
        }
    if (ids.empty()) {
        lookup.why_not = "no channel asked for";
        return lookup;
    }
    std::vector<TxtAnswer> answers;
    if (std::string failure = resolve_named(ifindex, control::kChannelServiceType, names, deadline, answers, cancel);
        !failure.empty()) {
        lookup.why_not = failure;
        return lookup;
    }

    std::map<uint16_t, std::map<uint16_t, uint16_t>> pointers;  // channel -> bundle -> slot
    for (size_t i = 0; i < ids.size(); ++i) {
        if (!answers[i].found) {
            lookup.why_not = names[i] + " did not resolve";
            return lookup;
        }
        pointers[ids[i]] = bundle_pointers(answers[i].txt);
    }
    BundleRoute route;
    if (!choose_bundle(channels, pointers, route, lookup.why_not)) return lookup;
    route.instance = std::to_string(route.bundle) + "@" + device.name;
    if (std::string failure =
            resolve_named(ifindex, control::kBundleServiceType, {route.instance}, deadline, answers, cancel);
        !failure.empty()) {
        lookup.why_not = failure;
        return lookup;
    }
    if (!answers[0].found) {
        lookup.why_not = route.instance + "." + control::kBundleServiceType + " did not resolve";
        return lookup;
    }
    if (!read_bundle_txt(answers[0].txt, route, lookup.why_not)) return lookup;
    lookup.route = std::move(route);
    return lookup;
}

bool dns_name_equal(const std::string& a, const std::string& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool is_channel_of(const std::string& instance, const std::string& device) {
    // Channel names cannot hold '@' (names.cpp), device names neither: the last '@' splits.
    const size_t at = instance.rfind('@');
    return at != std::string::npos && at > 0 && dns_name_equal(instance.substr(at + 1), device);
}

uint16_t flow_control_port_for_arc_port(uint16_t arc_port) {
    constexpr control::ControlPorts standard{};
    if (arc_port == standard.arc) return standard.flow_control;
    const auto ports = control::control_ports_for(arc_port);
    return ports ? ports->flow_control : standard.flow_control;
}

ResolveResult resolve_device(const std::string& name, int timeout_ms, const std::atomic<bool>* cancel) {
    ResolveResult result;
    const std::string who = "device '" + name + "'";
    std::unique_ptr<AvahiSimplePoll, decltype(&avahi_simple_poll_free)> poll(avahi_simple_poll_new(),
                                                                            avahi_simple_poll_free);
    if (!poll) {
        result.error = "cannot look up " + who + ": out of memory";
        return result;
    }
    Lookup lookup;
    lookup.name = name;
    int error = 0;
    // Without AVAHI_CLIENT_NO_FAIL this fails at once when no daemon is reachable.
    lookup.client = avahi_client_new(avahi_simple_poll_get(poll.get()), static_cast<AvahiClientFlags>(0),
                                     on_client_state, &lookup, &error);
    if (lookup.client == nullptr) {
        result.error = "cannot look up " + who + " over mDNS: no avahi-daemon reachable (" +
                       avahi_strerror(error) + ")";
        return result;
    }
    AvahiServiceBrowser* arc_browser =
        avahi_service_browser_new(lookup.client, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, control::kArcServiceType, nullptr,
                                  static_cast<AvahiLookupFlags>(0), on_arc_browse, &lookup);
    AvahiServiceBrowser* channel_browser =
        avahi_service_browser_new(lookup.client, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, control::kChannelServiceType,
                                  nullptr, static_cast<AvahiLookupFlags>(0), on_channel_browse, &lookup);
    if (arc_browser == nullptr || channel_browser == nullptr)
        lookup.failure = std::string("avahi-daemon refused to browse: ") +
                         avahi_strerror(avahi_client_errno(lookup.client));

    const int64_t deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        if (!lookup.failure.empty()) break;
        if (cancelled(cancel)) {
            lookup.failure = "cancelled";
            break;
        }
        const int64_t left = deadline - monotonic_ms();
        result.device = answer(lookup, left <= 0);
        if (result.device || left <= 0) break;
        if (avahi_simple_poll_iterate(poll.get(), static_cast<int>(std::min<int64_t>(left, 100))) != 0) {
            lookup.failure = "the avahi event loop failed";
            break;
        }
    }

    for (auto& pending : lookup.pending) avahi_service_resolver_free(pending->resolver);
    if (channel_browser != nullptr) avahi_service_browser_free(channel_browser);
    if (arc_browser != nullptr) avahi_service_browser_free(arc_browser);
    avahi_client_free(lookup.client);

    if (result.device) return result;
    if (!lookup.failure.empty()) {
        result.error = "cannot look up " + who + " over mDNS: " + lookup.failure;
    } else {
        result.error = who + " not found over mDNS within " + seconds_text(timeout_ms) + " (no " +
                       control::kArcServiceType + " instance of that name answered over IPv4";
        if (!lookup.channels.empty())
            result.error += ", though " + lookup.channels.front().instance + " did";
        result.error += ")";
    }
    return result;
}

}  // namespace dante::rx

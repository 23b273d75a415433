// RxService end to end on loopback: a real FlowsService on `lo` sends from TxRings that a
// filler thread keeps full of a known signal; an RxService, through a fake resolver that
// answers 127.0.0.1 and the transmitter's ephemeral flow-control port, subscribes to its
// channels. Transmitter and receiver share the test's clock, so the received rings must
// hold the signal at the very positions it was written. Traffic stays on 127.0.0.1 (the
// multicast case: a group joined on `lo`, sent to from 127.0.0.1, never leaves the host).

#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock/media_time.hpp"
#include "flows/packet_writer.hpp"
#include "flows/flows_service.hpp"
#include "io/io_thread.hpp"
#include "locked_test_clock.hpp"
#include "loopback_transmitter.hpp"
#include "rx/rx_service.hpp"

using namespace dante;

namespace {

constexpr uint32_t kRate = 48000;

int32_t signal(uint32_t channel, uint64_t pos) {
    return static_cast<int32_t>(static_cast<uint32_t>(pos) * 2654435761u + channel * 0x01010101u);
}

// How many of the 4800 frames from `from` that rx channel `source` holds differ from tx
// channel `tx_channel` (0-based) of the signal, as 24-bit audio (S24 on the wire); all of
// them when the channel has no rings.
size_t mismatches_at(const RxChannelSource& source, uint32_t tx_channel, uint64_t from) {
    if (source.rings == nullptr) return 4800;
    std::vector<int32_t> out(4800);
    if (source.rings->read(source.ring_channel, from, out) != out.size()) return out.size();
    size_t mismatches = 0;
    for (uint32_t i = 0; i < out.size(); ++i)
        mismatches += out[i] != static_cast<int32_t>(static_cast<uint32_t>(signal(tx_channel, from + i)) & 0xFFFFFF00u);
    return mismatches;
}

// The graph's stand-in: keeps the TX rings written 100 ms ahead of media now (the rings'
// one writer).
class Filler {
public:
    Filler(TxRings& rings, const test::LockedTestClock& clock) : rings_(rings), clock_(clock) {
        next_ = media_sample_at(clock_.media_now(), kRate);
        thread_ = std::thread([this] { run(); });
    }
    ~Filler() {
        stop_ = true;
        thread_.join();
    }

private:
    void run() {
        std::vector<std::vector<int32_t>> planes(rings_.channels(), std::vector<int32_t>(4800));
        std::vector<const int32_t*> ptrs;
        for (auto& p : planes) ptrs.push_back(p.data());
        while (!stop_) {
            const uint64_t until = media_sample_at(clock_.media_now(), kRate) + 4800;
            while (next_ < until) {
                const auto frames = static_cast<uint32_t>(std::min<uint64_t>(until - next_, 4800));
                for (uint32_t c = 0; c < rings_.channels(); ++c)
                    for (uint32_t i = 0; i < frames; ++i) planes[c][i] = signal(c, next_ + i);
                rings_.write(next_, ptrs, frames);
                next_ += frames;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    TxRings& rings_;
    const test::LockedTestClock& clock_;
    uint64_t next_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// Knows one device, "tx", whose channels are named "01", "02", ... (ids 1, 2, ...), and
// advertise `nchan` channels per flow (0: not advertised).
class FakeResolver final : public TxResolver {
public:
    FakeResolver(const FlowsService& service, uint32_t channels, uint32_t nchan)
        : service_(service), channels_(channels), nchan_(nchan) {}
    void resolve(const std::string& device, const std::vector<std::string>& channels, Done done) override {
        ++calls;
        if (device != "tx") return done(std::nullopt);
        TxResolution answer;
        answer.flow_control = Ipv4Endpoint{ipv4(127, 0, 0, 1), service_.control_port()};
        for (const std::string& name : channels) {
            const bool numeric = name.size() == 2 && std::isdigit(static_cast<unsigned char>(name[0])) &&
                                 std::isdigit(static_cast<unsigned char>(name[1]));
            const int id = numeric ? std::stoi(name) : 0;
            answer.channel_ids.push_back(id >= 1 && id <= static_cast<int>(channels_) ? static_cast<uint16_t>(id) : 0);
        }
        answer.max_channels_per_flow = nchan_;
        answer.encoding_bits = encoding_bits;
        done(answer);
    }
    std::atomic<int> calls{0};
    std::atomic<uint32_t> encoding_bits{0};  // the `enc` the channels advertise (0: none)

private:
    const FlowsService& service_;
    uint32_t channels_;
    uint32_t nchan_;
};

DeviceConfig tx_config(uint32_t channels) {
    DeviceConfig config = test::loopback_tx_config("tx", kRate, channels);
    config.max_flows = 8;
    return config;
}

FlowsServiceOptions tx_options() { return test::loopback_tx_options(99); }

// Short retries, so the tests run in seconds.
RxServiceOptions rx_options() {
    RxServiceOptions options;
    options.device_name = "rx-test";
    options.rx_channels = 4;
    options.rate = kRate;
    options.backoff_min_ms = 200;
    options.backoff_max_ms = 1000;
    options.reply_timeout_ms = 300;
    options.attempts = 2;
    return options;
}

bool wait_for(const std::function<bool()>& done, int timeout_ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
}

struct Lab {
    test::LockedTestClock clock;
    TxRings tx_rings;
    Filler filler;
    FlowsService tx;
    FakeResolver resolver;
    io::IoThread io{"rx-test"};
    std::optional<RxService> rx;

    // A transmitter "tx" of `tx_channels` channels that advertise `nchan` per flow.
    explicit Lab(RxServiceOptions options = rx_options(), uint32_t tx_channels = 2, uint32_t nchan = 0)
        : tx_rings(tx_channels, 1u << 16),
          filler(tx_rings, clock),
          tx(tx_config(tx_channels), tx_rings, clock, tx_options()),
          resolver(tx, tx_channels, nchan) {
        std::string error;
        REQUIRE_MESSAGE(tx.start(error), error);
        const auto lo = lookup_interface("lo", error);
        REQUIRE_MESSAGE(lo, error);
        rx.emplace(*lo, clock, resolver, io.loop(), options);
        REQUIRE_MESSAGE(rx->start(error), error);
    }
    ~Lab() {
        rx.reset();
        tx.stop();
    }
    bool state_is(uint32_t rx_channel, RxChannelState state) const {
        return rx->channel_status(rx_channel).state == state;
    }
};

std::string property(const ConfigItems& items, const std::string& key) {
    for (const auto& [k, v] : items)
        if (k == key) return v;
    return "(missing)";
}

}  // namespace

TEST_CASE("rx service: two subscribed channels arrive bit-exact at their media positions") {
    Lab lab;
    // Swapped on purpose: rx 1 <- tx "02", rx 2 <- tx "01".
    lab.rx->set_subscriptions({{1, "02", "tx"}, {2, "01", "tx"}});
    REQUIRE(wait_for(
        [&] { return lab.state_is(1, RxChannelState::receiving) && lab.state_is(2, RxChannelState::receiving); },
        2000));
    CHECK(lab.rx->active_flows() == 1);
    CHECK(lab.tx.active_flows() == 1);
    CHECK(lab.state_is(3, RxChannelState::none));

    // 100 ms of audio that arrived at least 20 ms ago (the transmitter sends at media now).
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const uint64_t now = media_sample_at(lab.clock.media_now(), kRate);
    const uint64_t from = now - 4800 - 960;
    const RxChannelTable& table = lab.rx->acquire_channels();
    for (uint32_t rx_channel : {1u, 2u}) {
        const uint32_t tx_channel = rx_channel == 1 ? 1 : 0;  // 0-based
        // S24 on the wire (the default): the top 24 bits, exactly.
        CHECK(mismatches_at(table.channels[rx_channel - 1], tx_channel, from) == 0);
    }
    CHECK(table.channels[2].rings == nullptr);
    lab.rx->release_channels();

    const RxChannelStatus status = lab.rx->channel_status(1);
    CHECK(status.tx_channel == "02");
    CHECK(status.tx_device == "tx");
    CHECK(status.packets > 100);
    CHECK(status.malformed == 0);
    const ConfigItems props = lab.rx->properties();
    CHECK(property(props, "dante.rx.flows") == "1");
    CHECK(property(props, "dante.rx.flow-requests") == "1");
    CHECK(property(props, "dante.rx.channel-states").find("rx = 2 state = receiving") != std::string::npos);
}

namespace {

// Subscribes rx channel N to tx channel N for N = 1..channels, and checks the flows the
// transmitter serves, and that channels of the first, a middle and the last flow arrive
// bit-exact.
void subscribe_all_in_flows(uint32_t channels, uint32_t nchan, size_t expected_flows) {
    RxServiceOptions options = rx_options();
    options.rx_channels = channels;
    Lab lab(options, channels, nchan);
    std::vector<RxSubscriptionConfig> subscriptions;
    char name[8];
    for (uint16_t c = 1; c <= channels; ++c) {
        std::snprintf(name, sizeof name, "%02u", static_cast<unsigned>(c));
        subscriptions.push_back({c, name, "tx"});
    }
    lab.rx->set_subscriptions(subscriptions);
    REQUIRE(wait_for(
        [&] {
            for (uint32_t c = 1; c <= channels; ++c)
                if (!lab.state_is(c, RxChannelState::receiving)) return false;
            return true;
        },
        4000));
    CHECK(lab.tx.active_flows() == expected_flows);
    CHECK(lab.rx->active_flows() == expected_flows);
    CHECK(property(lab.rx->properties(), "dante.rx.flows") == std::to_string(expected_flows));

    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const uint64_t from = media_sample_at(lab.clock.media_now(), kRate) - 4800 - 960;
    const RxChannelTable& table = lab.rx->acquire_channels();
    for (uint32_t rx_channel : {1u, channels / 2 + 1, channels})
        CHECK_MESSAGE(mismatches_at(table.channels[rx_channel - 1], rx_channel - 1, from) == 0,
                      "rx channel " << rx_channel);
    lab.rx->release_channels();
}

}  // namespace

TEST_CASE("rx service: channels from one device are asked for in flows of at most 8") {
    subscribe_all_in_flows(20, 0, 3);  // 8 + 8 + 4
}

TEST_CASE("rx service: a device advertising fewer channels per flow (nchan) gets flows of that size") {
    subscribe_all_in_flows(10, 4, 3);  // 4 + 4 + 2, after a first resolution asked for 8 + 2
}

TEST_CASE("rx service: a flow is asked for in the encoding the transmitter advertises, not our own") {
    RxServiceOptions options = rx_options();
    options.format = SampleFormat::s16;  // ours; the transmitter sends S24 only
    Lab lab(options);
    lab.resolver.encoding_bits = 24;
    lab.rx->set_subscriptions({{1, "01", "tx"}});
    REQUIRE(wait_for([&] { return lab.state_is(1, RxChannelState::receiving); }, 2000));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const uint64_t from = media_sample_at(lab.clock.media_now(), kRate) - 4800 - 960;
    CHECK(mismatches_at(lab.rx->acquire_channels().channels[0], 0, from) == 0);  // all 24 bits, not our 16
    lab.rx->release_channels();
}

TEST_CASE("rx service: an unknown device stays unresolved and is asked again") {
    Lab lab;
    lab.rx->set_subscriptions({{1, "01", "nobody"}, {2, "07", "tx"}});
    // rx 2: the device exists but has no channel "07": unresolved too (and no flow).
    REQUIRE(wait_for([&] { return lab.resolver.calls >= 4; }, 2000));  // 2 devices, each asked again
    CHECK((lab.state_is(1, RxChannelState::unresolved) || lab.state_is(1, RxChannelState::resolving)));
    CHECK((lab.state_is(2, RxChannelState::unresolved) || lab.state_is(2, RxChannelState::resolving)));
    CHECK(lab.tx.active_flows() == 0);
    CHECK(lab.rx->active_flows() == 0);
    // Subscriptions beyond rx_channels (4), or twice for one channel, are ignored.
    lab.rx->set_subscriptions({{5, "01", "tx"}, {1, "01", "tx"}, {1, "02", "tx"}});
    CHECK(property(lab.rx->properties(), "dante.rx.ignored-subscriptions") == "2");
    CHECK(wait_for([&] { return lab.state_is(1, RxChannelState::receiving); }, 2000));
}

TEST_CASE("rx service: a stopped transmitter is noticed and found again when it returns") {
    Lab lab;
    lab.rx->set_subscriptions({{1, "01", "tx"}});
    REQUIRE(wait_for([&] { return lab.state_is(1, RxChannelState::receiving); }, 2000));

    lab.tx.stop();
    CHECK(wait_for([&] { return !lab.state_is(1, RxChannelState::receiving); }, 3000));
    std::string error;
    REQUIRE_MESSAGE(lab.tx.start(error), error);  // a new ephemeral port: found by resolving again
    CHECK(wait_for([&] { return lab.state_is(1, RxChannelState::receiving); }, 4000));
    CHECK(lab.tx.active_flows() == 1);
}

TEST_CASE("rx service: unsubscribing stops the flow at the transmitter") {
    Lab lab;
    lab.rx->set_subscriptions({{1, "01", "tx"}, {2, "02", "tx"}});
    REQUIRE(wait_for([&] { return lab.tx.active_flows() == 1 && lab.state_is(2, RxChannelState::receiving); }, 2000));
    const RxChannelTable* before = &lab.rx->acquire_channels();
    CHECK(before->channels[0].rings != nullptr);

    // Another channel set for the device: its flow is asked again with the new one.
    lab.rx->set_subscriptions({{1, "01", "tx"}});
    CHECK(wait_for([&] { return lab.state_is(1, RxChannelState::receiving) && lab.tx.active_flows() == 1; }, 2000));
    CHECK(lab.state_is(2, RxChannelState::none));
    // The reader still holds the old table: its rings are alive until it moves on.
    std::vector<int32_t> out(64);
    before->channels[1].rings->read(before->channels[1].ring_channel, 0, out);
    const RxChannelTable& after = lab.rx->acquire_channels();
    CHECK(after.channels[0].rings != nullptr);
    CHECK(after.channels[1].rings == nullptr);
    lab.rx->release_channels();

    lab.rx->set_subscriptions({});
    CHECK(wait_for([&] { return lab.tx.active_flows() == 0; }, 2000));
    CHECK(lab.state_is(1, RxChannelState::none));
    CHECK(lab.rx->active_flows() == 0);
    CHECK(lab.tx.stats().expired == 0);  // stopped by 0x0101, not left to expire
}

TEST_CASE("rx service: a flow refused for its format says so and is asked again") {
    RxServiceOptions options = rx_options();
    options.rate = 44100;  // the transmitter runs at 48 kHz: 0x0301
    Lab lab(options);
    lab.rx->set_subscriptions({{1, "01", "tx"}});
    CHECK(wait_for([&] { return lab.state_is(1, RxChannelState::wrong_format); }, 2000));
    CHECK(wait_for([&] { return lab.tx.stats().rejected >= 2; }, 2000));  // asked again after the backoff
    CHECK(lab.tx.active_flows() == 0);
}

namespace {

// A multicast bundle as a Dante device sends it, from TxRings the Filler keeps full: 2
// slots (slot 1 = tx channel 2, slot 2 = tx channel 1), S24, 32 frames a packet, to a group
// on `lo` (FlowsService refuses multicast on `lo`, which has no IFF_MULTICAST, so the test
// sends the packets itself).
class BundleSender {
public:
    static constexpr uint32_t kFpp = 32;
    BundleSender(const TxRings& rings, const test::LockedTestClock& clock, Ipv4Endpoint group)
        : rings_(rings), clock_(clock), group_(group) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        in_addr loopback{};
        loopback.s_addr = htonl(ipv4(127, 0, 0, 1));
        ::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &loopback, sizeof loopback);
        next_ = media_sample_at(clock_.media_now(), kRate) / kFpp * kFpp;
        thread_ = std::thread([this] { run(); });
    }
    ~BundleSender() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }

private:
    void run() {
        const std::array<uint16_t, 2> slots{2, 1};
        DitherSource dither;
        std::array<uint8_t, 1500> packet{};
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(group_.address);
        to.sin_port = htons(group_.port);
        while (!stop_) {
            const uint64_t now = media_sample_at(clock_.media_now(), kRate);
            for (; next_ + kFpp <= now; next_ += kFpp) {
                PacketSpec spec;
                spec.timestamp = next_;
                spec.rate = kRate;
                spec.fpp = kFpp;
                spec.bytes_per_sample = 3;
                spec.slots = slots;
                const PacketWriteResult r = write_audio_packet(rings_, spec, dither, packet);
                ::sendto(fd_, packet.data(), r.bytes, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    const TxRings& rings_;
    const test::LockedTestClock& clock_;
    Ipv4Endpoint group_;
    int fd_ = -1;
    uint64_t next_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// Knows "mtx": channels "01" and "02" in one bundle on `group` (01 in slot 2, 02 in slot 1).
class BundleResolver final : public TxResolver {
public:
    explicit BundleResolver(Ipv4Endpoint group) : group_(group) {}
    void resolve(const std::string& device, const std::vector<std::string>& channels, Done done) override {
        if (device != "mtx") return done(std::nullopt);
        TxResolution answer;
        answer.flow_control = Ipv4Endpoint{ipv4(127, 0, 0, 1), 4455};  // never asked: nothing requested
        TxMulticast bundle{group_, 2, 3, {}};
        for (const std::string& name : channels) {
            const uint16_t id = name == "01" ? 1 : name == "02" ? 2 : 0;
            answer.channel_ids.push_back(id);
            bundle.slot_of_channel.push_back(id == 1 ? 2 : id == 2 ? 1 : 0);
        }
        answer.multicast = bundle;
        done(answer);
    }

private:
    Ipv4Endpoint group_;
};

}  // namespace

TEST_CASE("rx service: channels a multicast bundle carries are received from its group, bit-exact") {
    test::LockedTestClock clock;
    TxRings tx_rings{2, 1u << 16};
    Filler filler{tx_rings, clock};
    const Ipv4Endpoint group{ipv4(239, 255, 97, 13), 41234};
    BundleResolver resolver{group};
    io::IoThread io{"rx-test"};
    std::string error;
    const auto lo = lookup_interface("lo", error);
    REQUIRE_MESSAGE(lo, error);
    RxService rx(*lo, clock, resolver, io.loop(), rx_options());
    REQUIRE_MESSAGE(rx.start(error), error);
    auto receiving = [&] {
        return rx.channel_status(1).state == RxChannelState::receiving &&
               rx.channel_status(2).state == RxChannelState::receiving;
    };
    std::optional<BundleSender> sender;
    sender.emplace(tx_rings, clock, group);
    rx.set_subscriptions({{1, "01", "mtx"}, {2, "02", "mtx"}});
    REQUIRE(wait_for(receiving, 2000));
    CHECK(rx.channel_status(1).multicast);
    CHECK(rx.active_flows() == 1);
    CHECK(property(rx.properties(), "dante.rx.flow-requests") == "0");  // joined, never asked
    CHECK(property(rx.properties(), "dante.rx.channel-states").find("rx = 1 state = receiving via = multicast") !=
          std::string::npos);

    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const uint64_t from = media_sample_at(clock.media_now(), kRate) - 4800 - 960;
    const RxChannelTable& table = rx.acquire_channels();
    for (uint32_t rx_channel : {1u, 2u}) CHECK(mismatches_at(table.channels[rx_channel - 1], rx_channel - 1, from) == 0);
    rx.release_channels();

    // The bundle stops (the transmitter went away): noticed, and joined again when it returns.
    sender.reset();
    CHECK(wait_for([&] { return rx.channel_status(1).state != RxChannelState::receiving; }, 3000));
    sender.emplace(tx_rings, clock, group);
    CHECK(wait_for(receiving, 4000));
    CHECK(property(rx.properties(), "dante.rx.flow-requests") == "0");
    rx.stop();
}

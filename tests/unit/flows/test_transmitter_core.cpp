#include <doctest/doctest.h>

#include <vector>

#include "clock/media_time.hpp"
#include "flows/transmitter_core.hpp"

using namespace dante;

namespace {

constexpr uint32_t kRate = 48000;
constexpr int64_t kMedia0 = 1'000'000'000'000;  // media time 1000 s at...
constexpr int64_t kMono0 = 5'000'000'000;       // ...monotonic 5 s
constexpr uint64_t kSample0 = 48'000'000;       // = media_sample_at(kMedia0)

ClockSnapshot locked_clock(uint64_t generation = 1, double rate = 1.0) {
    ClockSnapshot s;
    s.media_ns = kMedia0;
    s.monotonic_ns = kMono0;
    s.rate = rate;
    s.generation = generation;
    s.state = ClockState::locked;
    return s;
}

struct FakeIo : PacketIo {
    struct Sent {
        uint32_t index;
        uint64_t timestamp;
        std::vector<uint8_t> bytes;
    };
    std::vector<Sent> sent;
    bool keepalives = true;
    bool send_ok = true;
    int polls = 0;

    bool send(const FlowEntry& flow, std::span<const uint8_t> packet) override {
        const uint64_t seconds = (uint64_t{packet[1]} << 24) | (uint64_t{packet[2]} << 16) | (uint64_t{packet[3]} << 8) | packet[4];
        const uint64_t sub = (uint64_t{packet[5]} << 24) | (uint64_t{packet[6]} << 16) | (uint64_t{packet[7]} << 8) | packet[8];
        sent.push_back({flow.spec.handle.index, seconds * kRate + sub, {packet.begin(), packet.end()}});
        return send_ok;
    }
    std::vector<size_t> batches;  // sizes of send_batch() calls (single packets use send())
    void send_batch(const FlowEntry& flow, std::span<const std::span<const uint8_t>> packets,
                    std::span<bool> ok) override {
        batches.push_back(packets.size());
        PacketIo::send_batch(flow, packets, ok);
    }
    bool poll_keepalive(const FlowEntry&) override {
        ++polls;
        return keepalives;
    }
};

FlowEntry flow(uint32_t index, uint32_t fpp = 32, uint32_t version = 1) {
    FlowEntry e;
    e.spec.handle = flowctl::FlowHandle{index, static_cast<uint16_t>(100 + index)};
    e.spec.fpp = fpp;
    e.spec.bytes_per_sample = 4;
    const uint16_t ids[] = {1, 2};
    e.spec.slots.assign(ids);
    e.spec.version = version;
    return e;
}

int64_t mono_of_sample(uint64_t ts, const ClockSnapshot& c = locked_clock()) {
    return c.monotonic_ns_at(media_ns_of_sample(ts, kRate));
}

struct Rig {
    TxRings rings{2, 1u << 16};
    TransmitterSettings settings;
    TransmitterCounters counters;
    ExpiredQueue expired;
    std::unique_ptr<TransmitterCore> core;
    FlowTable table;
    FakeIo io;

    explicit Rig(std::vector<FlowEntry> entries = {flow(0)}) {
        settings.rate = kRate;
        settings.max_flows = 4;
        core = std::make_unique<TransmitterCore>(rings, settings, counters, expired);
        table.generation = 1;
        table.entries = std::move(entries);
    }
    int64_t run(int64_t now, const ClockSnapshot& clock = locked_clock()) { return core->run(table, clock, now, io); }
};

}  // namespace

TEST_CASE("bootstrap: first packet at the next multiple of fpp after media now, woken exactly then") {
    Rig rig;
    const int64_t wake = rig.run(kMono0);
    CHECK(rig.io.sent.empty());
    CHECK(rig.core->next_timestamp(rig.table.entries[0].spec.handle) == kSample0 + 32);
    CHECK(wake == mono_of_sample(kSample0 + 32));
    // Just before: nothing. At the instant: the packet, stamped kSample0 + 32.
    rig.run(wake - 1);
    CHECK(rig.io.sent.empty());
    const int64_t next = rig.run(wake);
    REQUIRE(rig.io.sent.size() == 1);
    CHECK(rig.io.sent[0].timestamp == kSample0 + 32);
    CHECK(rig.io.sent[0].bytes.size() == 9 + 32 * 2 * 4);
    CHECK(next == mono_of_sample(kSample0 + 64));
    CHECK(rig.counters.packets == 1);
    CHECK(rig.counters.underruns == 1);  // the rings are empty: silence went out
    CHECK(rig.counters.active == 1);
}

TEST_CASE("paced run: one packet per fpp, consecutive timestamps, catch-up after a late wake") {
    Rig rig;
    int64_t wake = rig.run(kMono0);
    for (int i = 0; i < 100; ++i) wake = rig.run(wake);
    REQUIRE(rig.io.sent.size() == 100);
    for (size_t i = 0; i < rig.io.sent.size(); ++i) CHECK(rig.io.sent[i].timestamp == kSample0 + 32 * (i + 1));
    // Wake 5 packets late: all 5 go at once, in order, and count as late.
    rig.io.sent.clear();
    rig.run(wake + 4 * 32 * 1'000'000'000ll / kRate);
    REQUIRE(rig.io.sent.size() == 5);
    for (size_t i = 1; i < 5; ++i) CHECK(rig.io.sent[i].timestamp == rig.io.sent[i - 1].timestamp + 32);
    CHECK(rig.io.batches == std::vector<size_t>{5});  // the burst in one batch; on time, single sends
    CHECK(rig.counters.late[5] >= 1);  // 2.67 ms late: the 2..5 ms bucket
    CHECK(rig.counters.late[0] >= 100);
}

TEST_CASE("audio in the rings goes out at its timestamp") {
    Rig rig;
    std::vector<int32_t> left(64), right(64);
    for (int i = 0; i < 64; ++i) {
        left[static_cast<size_t>(i)] = 1000 + i;
        right[static_cast<size_t>(i)] = -1000 - i;
    }
    const int32_t* planes[] = {left.data(), right.data()};
    rig.rings.write(kSample0 + 32, planes, 64);
    int64_t wake = rig.run(kMono0);
    wake = rig.run(wake);
    rig.run(wake);
    REQUIRE(rig.io.sent.size() == 2);
    CHECK(rig.counters.underruns == 0);
    const auto& b = rig.io.sent[1].bytes;
    auto s32 = [&](size_t at) {
        return static_cast<int32_t>((uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) | b[at + 3]);
    };
    CHECK(s32(9) == 1032);
    CHECK(s32(13) == -1032);
    CHECK(s32(9 + 31 * 8) == 1063);
}

TEST_CASE("lag beyond the bound re-bootstraps instead of bursting") {
    Rig rig;
    int64_t wake = rig.run(kMono0);
    wake = rig.run(wake);
    CHECK(rig.io.sent.size() == 1);
    rig.run(wake + 1'000'000'000);  // the thread was starved for a second
    CHECK(rig.io.sent.size() == 1);
    CHECK(rig.counters.rebootstraps == 1);
    const uint64_t now_samples = kSample0 + 64 + 48'000;  // woken for kSample0 + 64, a second late
    const auto next = rig.core->next_timestamp(rig.table.entries[0].spec.handle);
    REQUIRE(next);
    CHECK(*next > now_samples);
    CHECK(*next % 32 == 0);
    CHECK(*next - now_samples <= 32);
}

TEST_CASE("a new clock generation without a step keeps every flow's timestamps") {
    // Becoming master or re-locking without a step: a new generation on the same line.
    Rig rig({flow(0), flow(1, 16)});
    int64_t wake = rig.run(kMono0);
    wake = rig.run(wake);
    const uint64_t next0 = *rig.core->next_timestamp(rig.table.entries[0].spec.handle);
    const uint64_t next1 = *rig.core->next_timestamp(rig.table.entries[1].spec.handle);
    rig.io.sent.clear();
    const ClockSnapshot same_line = locked_clock(2);
    wake = rig.run(wake, same_line);
    // The packets that were due went out, stamped where the flows were: no gap, no repeat.
    REQUIRE(rig.io.sent.size() >= 2);
    for (const auto& sent : rig.io.sent) CHECK(sent.timestamp == (sent.index == 0 ? next0 : next1));
    CHECK(rig.counters.rebootstraps == 0);
    rig.io.sent.clear();
    for (int i = 0; i < 20; ++i) wake = rig.run(wake, same_line);
    uint64_t expect0 = next0 + 32, expect1 = next1 + 16;
    for (const auto& sent : rig.io.sent) {
        uint64_t& expect = sent.index == 0 ? expect0 : expect1;
        CHECK(sent.timestamp == expect);
        expect += sent.index == 0 ? 32 : 16;
    }
}

TEST_CASE("a clock generation change with a step re-bootstraps every flow") {
    Rig rig({flow(0), flow(1, 16)});
    int64_t wake = rig.run(kMono0);
    wake = rig.run(wake);
    // Same monotonic instant, but the media clock stepped 10 ms forward in a new generation.
    ClockSnapshot stepped = locked_clock(2);
    stepped.media_ns += 10'000'000;
    rig.io.sent.clear();
    rig.run(wake, stepped);
    CHECK(rig.io.sent.empty());  // nothing due right after a bootstrap
    const uint64_t now_samples = media_sample_at(stepped.media_ns_at(wake), kRate);
    CHECK(*rig.core->next_timestamp(rig.table.entries[0].spec.handle) == (now_samples / 32 + 1) * 32);
    CHECK(*rig.core->next_timestamp(rig.table.entries[1].spec.handle) == (now_samples / 16 + 1) * 16);
}

TEST_CASE("an unsynchronized clock sends nothing") {
    Rig rig;
    ClockSnapshot none;
    for (int i = 0; i < 10; ++i) rig.run(kMono0 + i * 10'000'000, none);
    CHECK(rig.io.sent.empty());
    CHECK(rig.counters.active == 0);
}

TEST_CASE("a flow without keepalives expires after 4 s, is reported once, and goes quiet") {
    Rig rig;
    rig.io.keepalives = false;
    int64_t now = kMono0;
    size_t sent_before_expiry = 0;
    for (; now < kMono0 + 5'000'000'000; now += 10'000'000) {
        rig.run(now);
        if (rig.counters.expired == 0) sent_before_expiry = rig.io.sent.size();
    }
    CHECK(rig.counters.expired == 1);
    CHECK(rig.io.sent.size() == sent_before_expiry);
    const auto reported = rig.expired.try_pop();
    REQUIRE(reported);
    CHECK(*reported == rig.table.entries[0].spec.handle);
    CHECK_FALSE(rig.expired.try_pop());
    // Roughly 4 s of audio went out first.
    CHECK(sent_before_expiry > 5900);
    CHECK(sent_before_expiry < 6100);
}

TEST_CASE("keepalives keep a flow alive; a new version refreshes it too") {
    Rig rig;
    int64_t now = kMono0;
    for (; now < kMono0 + 10'000'000'000; now += 10'000'000) rig.run(now);
    CHECK(rig.counters.expired == 0);
    CHECK(rig.io.polls > 100);

    rig.io.keepalives = false;
    const int64_t silent_from = now;
    for (; now < silent_from + 3'000'000'000; now += 10'000'000) rig.run(now);
    rig.table.entries[0].spec.version = 2;  // the receiver re-asked (or updated channels)
    for (; now < silent_from + 6'000'000'000; now += 10'000'000) rig.run(now);
    CHECK(rig.counters.expired == 0);
    for (; now < silent_from + 8'000'000'000; now += 10'000'000) rig.run(now);
    CHECK(rig.counters.expired == 1);
}

TEST_CASE("send failures drop the packet but keep the pace") {
    Rig rig;
    rig.io.send_ok = false;
    int64_t wake = rig.run(kMono0);
    for (int i = 0; i < 10; ++i) wake = rig.run(wake);
    CHECK(rig.counters.send_errors == 10);
    CHECK(rig.counters.packets == 0);
    CHECK(rig.io.sent.back().timestamp == kSample0 + 32 * 10);
    // In a burst too: each failed packet counts, the pace holds.
    rig.run(wake + 39 * 32 * 1'000'000'000ll / kRate);
    CHECK(rig.counters.send_errors == 10 + 40);
    CHECK(rig.io.batches == std::vector<size_t>{32, 8});  // at most kMaxBatch a call
    CHECK(rig.io.sent.back().timestamp == kSample0 + 32 * 50);
}

TEST_CASE("a new flow in a reused index starts fresh; a new fpp starts a new grid") {
    Rig rig;
    int64_t wake = rig.run(kMono0);
    wake = rig.run(wake);
    rig.table.entries[0].spec.fpp = 48;
    rig.table.entries[0].spec.version = 2;
    rig.run(wake + 1000);
    const auto next = rig.core->next_timestamp(rig.table.entries[0].spec.handle);
    REQUIRE(next);
    CHECK(*next % 48 == 0);
    rig.table.entries[0].spec.handle.cookie = 7;  // another flow in the same index
    rig.run(wake + 2000);
    CHECK(rig.core->next_timestamp(rig.table.entries[0].spec.handle));
    CHECK_FALSE(rig.core->next_timestamp(flowctl::FlowHandle{0, 100}));
}

TEST_CASE("wake-ups never exceed max_wait, and honour keepalive polling") {
    Rig rig(std::vector<FlowEntry>{});
    CHECK(rig.run(kMono0) == kMono0 + rig.settings.max_wait_ns);
}

TEST_CASE("a multicast flow: packets as asked, continuous timestamps, no keepalive polling, never expires") {
    FlowEntry m;
    m.spec.handle = flowctl::FlowHandle{2, 77};
    m.spec.fpp = 16;
    m.spec.bytes_per_sample = 3;
    const uint16_t ids[] = {2, 1, 2};  // channels as asked, in the asked order, repeats allowed
    m.spec.slots.assign(ids);
    m.spec.version = 1;
    m.spec.multicast = true;
    Rig rig({m});
    rig.io.keepalives = false;  // nobody answers a multicast flow

    // A known signal in the rings: left = 0x010000 * k, right = -0x020000 * k (24-bit exact).
    const uint32_t frames = 48000 * 6;
    std::vector<int32_t> left(frames), right(frames);
    for (uint32_t k = 0; k < frames; ++k) {
        left[k] = static_cast<int32_t>((k % 1000) << 8) * 256;
        right[k] = -static_cast<int32_t>((k % 777) << 8) * 256;
    }
    // Fed ahead of the transmitter in chunks, as the graph does (the ring holds ~1.4 s).
    uint64_t written = 0;
    auto feed_until = [&](int64_t mono) {
        const uint64_t due = static_cast<uint64_t>(mono - kMono0) * kRate / 1'000'000'000 + 9600;
        while (written < due && written + 4800 <= frames) {
            const int32_t* planes[] = {left.data() + written, right.data() + written};
            rig.rings.write(kSample0 + written, planes, 4800);
            written += 4800;
        }
    };

    // Five and a half seconds of media time: past the 4 s keepalive timeout of unicast flows.
    feed_until(kMono0);
    int64_t wake = rig.run(kMono0);
    while (wake < kMono0 + 5'500'000'000) {
        feed_until(wake);
        wake = rig.run(wake);
    }
    CHECK(rig.io.polls == 0);
    CHECK(rig.counters.expired == 0);
    CHECK(rig.expired.try_pop() == std::nullopt);
    REQUIRE(rig.io.sent.size() > 5 * 48000 / 16);
    for (size_t i = 0; i < rig.io.sent.size(); ++i) {
        const auto& p = rig.io.sent[i];
        CHECK(p.index == 2);
        REQUIRE(p.bytes.size() == 9 + 16 * 3 * 3);
        CHECK(p.bytes[0] == 0x02);
        CHECK(p.timestamp == kSample0 + 16 * (i + 1));
        if (i % 97 != 0) continue;  // spot-check the samples of some packets
        for (uint32_t f = 0; f < 16; ++f) {
            const uint64_t k = p.timestamp + f - kSample0;
            auto s24 = [&](size_t slot) {
                const size_t at = 9 + (f * 3 + slot) * 3;
                return static_cast<int32_t>((uint32_t{p.bytes[at]} << 24) | (uint32_t{p.bytes[at + 1]} << 16) |
                                            (uint32_t{p.bytes[at + 2]} << 8));
            };
            CHECK(s24(0) == right[k]);
            CHECK(s24(1) == left[k]);
            CHECK(s24(2) == right[k]);
        }
    }
    CHECK(rig.counters.underruns == 0);
}

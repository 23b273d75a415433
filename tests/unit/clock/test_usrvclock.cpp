#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "clock/usrvclock_clock.hpp"
#include "clock/usrvclock_protocol.hpp"
#include "util/clock_now.hpp"

using namespace dante;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> encoded(const usrvclock::Overlay& overlay) {
    std::vector<uint8_t> bytes(usrvclock::kOverlaySize);
    usrvclock::encode(overlay, std::span<uint8_t, usrvclock::kOverlaySize>(bytes.data(), bytes.size()));
    return bytes;
}

// A usrvclock server as the protocol describes it: a datagram socket at a path, learning
// clients from their (empty) registration datagrams and sending overlays to each.
class FakeServer {
public:
    explicit FakeServer(std::string path) : path_(std::move(path)) { start(); }
    ~FakeServer() { stop(); }

    void start() {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
        unlink(path_.c_str());
        REQUIRE(bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
        clients_.clear();
    }
    void stop() {
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
        unlink(path_.c_str());
    }
    // Picks up registrations; returns how many clients are known.
    size_t poll_clients() {
        for (;;) {
            sockaddr_un from{};
            socklen_t length = sizeof from;
            std::array<uint8_t, 64> scratch{};
            const ssize_t n = recvfrom(fd_, scratch.data(), scratch.size(), 0, reinterpret_cast<sockaddr*>(&from), &length);
            if (n < 0) break;
            clients_.push_back(from);
        }
        return clients_.size();
    }
    void send_raw(const std::vector<uint8_t>& bytes) {
        poll_clients();
        for (const sockaddr_un& client : clients_)
            sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&client), sizeof client);
    }
    void send(const usrvclock::Overlay& overlay) { send_raw(encoded(overlay)); }

private:
    std::string path_;
    int fd_ = -1;
    std::vector<sockaddr_un> clients_;
};

// Runs clock.update() until `done` or ~3 s pass.
bool update_until(UsrvclockClock& clock, const std::function<bool()>& done) {
    for (int i = 0; i < 600; ++i) {
        clock.update();
        if (done()) return true;
        usleep(5'000);
    }
    return false;
}

struct TempDir {
    fs::path path;
    TempDir() {
        char pattern[] = "/tmp/dante-usrvclock-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        path = pattern;
    }
    ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("usrvclock overlays encode and parse back; the mapping matches upstream's") {
    const usrvclock::Overlay overlay{CLOCK_TAI, 13'000'000'000, -14'000'000'000, -0.0002};
    const auto bytes = encoded(overlay);
    REQUIRE(bytes.size() == 40);
    CHECK(bytes[0] == 'V');
    CHECK(bytes[1] == 'C');
    const auto parsed = usrvclock::parse(bytes);
    REQUIRE(parsed.overlay);
    CHECK(*parsed.overlay == overlay);
    // A newer minor version may append fields: accepted, the extra ignored.
    auto longer = bytes;
    longer.resize(64, 0xAB);
    CHECK(usrvclock::parse(longer).overlay == overlay);

    // u + shift + round((u - last_sync) * freq_scale)
    const usrvclock::Overlay slow{CLOCK_MONOTONIC, 12'312'312'333'333'343 - 2'400'000'000, -2'500'000'000, -0.25};
    CHECK(slow.overlay_ns_at(12'312'312'333'333'343) == 12'312'312'333'333'343 - 2'500'000'000 - 600'000'000);
    const usrvclock::Overlay fast{CLOCK_MONOTONIC, 1'000, 0, 0.5};
    CHECK(fast.overlay_ns_at(3'000) == 4'000);
}

TEST_CASE("malformed usrvclock datagrams are refused with their cause") {
    const auto good = encoded({CLOCK_MONOTONIC, 0, 0, 0.0});
    using E = usrvclock::ParseError;
    auto expect = [](std::vector<uint8_t> bytes, E error) {
        const auto result = usrvclock::parse(bytes);
        CHECK_FALSE(result.overlay);
        CHECK(result.error == error);
    };
    expect({}, E::truncated);
    expect(std::vector<uint8_t>(good.begin(), good.begin() + 39), E::truncated);
    expect(std::vector<uint8_t>(300, 0), E::oversized);
    auto bad = good;
    bad[0] = 'X';
    expect(bad, E::bad_magic);
    bad = good;
    bad[2] = 2;  // major version 2 (little- or big-endian host alike: not 1)
    bad[3] = 0;
    expect(bad, E::bad_version);
    bad = good;
    bad[6] = bad[7] = 0;
    expect(bad, E::bad_flags);
    expect(encoded({-29, 0, 0, 0.0}), E::bad_clock);  // a PHC fd of the server's process
    expect(encoded({CLOCK_MONOTONIC, 0, 0, std::numeric_limits<double>::quiet_NaN()}), E::bad_rate);
    expect(encoded({CLOCK_MONOTONIC, 0, 0, 0.5}), E::bad_rate);
    CHECK(usrvclock::to_string(E::bad_magic) == "bad magic");
}

TEST_CASE("usrvclock source follows a live server, survives its restart, drops garbage") {
    TempDir dir;
    const std::string server_path = dir.path / "ptp-usrvclock";
    UsrvclockClock::Options options;
    options.silence_before_reconnect_ns = 1'000'000'000;  // generous: a loaded CI machine must not flap
    options.first_backoff_ns = 10'000'000;
    options.max_backoff_ns = 40'000'000;
    options.client_dir = dir.path;

    // No server yet: nothing usable, and no crash while it keeps trying.
    UsrvclockClock clock(server_path, options);
    CHECK(clock.source_name() == "usrvclock:" + server_path);
    CHECK(clock.snapshot().state == ClockState::unsynchronized);
    CHECK_FALSE(clock.snapshot().valid());

    auto server = std::make_unique<FakeServer>(server_path);
    REQUIRE(update_until(clock, [&] { return server->poll_clients() == 1; }));

    // An overlay over CLOCK_MONOTONIC running 100 ppm fast, 5 s ahead.
    const int64_t start = monotonic_now_ns();
    const usrvclock::Overlay first{CLOCK_MONOTONIC, start, 5'000'000'000, 100e-6};
    server->send(first);
    REQUIRE(update_until(clock, [&] { return clock.stats().overlays == 1; }));
    ClockSnapshot s = clock.snapshot();
    CHECK(s.state == ClockState::locked);
    CHECK(s.generation == 1);
    CHECK(s.rate == doctest::Approx(1.0001).epsilon(1e-12));
    CHECK(s.media_ns == first.overlay_ns_at(s.monotonic_ns));
    CHECK(s.media_ns_at(s.monotonic_ns + 1'000'000'000) - first.overlay_ns_at(s.monotonic_ns + 1'000'000'000) <= 1);

    // statime's own choice: an overlay over CLOCK_TAI. Converted through a sandwich read.
    const int64_t tai = clock_now_ns(CLOCK_TAI);
    const usrvclock::Overlay over_tai{CLOCK_TAI, tai, -tai + 5'000'000'000 + (start - monotonic_now_ns()), -20e-6};
    server->send(over_tai);
    REQUIRE(update_until(clock, [&] { return clock.stats().overlays == 2; }));
    s = clock.snapshot();
    CHECK(s.state == ClockState::locked);
    CHECK(s.rate == doctest::Approx(1.0 - 20e-6).epsilon(1e-12));
    const int64_t tai_now = clock_now_ns(CLOCK_TAI);
    const int64_t mono_now = monotonic_now_ns();
    CHECK(std::llabs(s.media_ns_at(mono_now) - over_tai.overlay_ns_at(tai_now)) < 100'000);

    // Garbage of every kind is counted and dropped; the clock keeps the last good overlay.
    const ClockSnapshot before = clock.snapshot();
    auto truncated = encoded(first);
    truncated.resize(20);
    server->send_raw(truncated);
    server->send_raw(std::vector<uint8_t>(1000, 'V'));
    auto bad_magic = encoded(first);
    bad_magic[1] = 'X';
    server->send_raw(bad_magic);
    server->send(usrvclock::Overlay{-3, 0, 0, 0.0});
    server->send(usrvclock::Overlay{CLOCK_MONOTONIC, 0, 0, std::numeric_limits<double>::infinity()});
    server->send_raw({});
    REQUIRE(update_until(clock, [&] { return clock.stats().dropped == 6; }));
    CHECK(clock.stats().truncated == 2);
    CHECK(clock.stats().oversized == 1);
    CHECK(clock.stats().invalid == 3);
    CHECK(clock.stats().overlays == 2);
    CHECK(clock.overlay() == over_tai);
    s = clock.snapshot();
    CHECK(s.state == ClockState::locked);
    CHECK(s.generation == before.generation);

    // The server goes away: holdover on the last overlay, still valid time.
    server.reset();
    REQUIRE(update_until(clock, [&] { return clock.snapshot().state == ClockState::holdover; }));
    s = clock.snapshot();
    CHECK(s.valid());
    CHECK(s.rate == doctest::Approx(1.0 - 20e-6).epsilon(1e-12));
    const uint64_t generation_in_holdover = s.generation;
    const uint64_t connects_before = clock.stats().connects;
    usleep(100'000);
    clock.update();  // retries fail quietly while nobody listens

    // It comes back on the same path (a new socket that does not know us), 2 ms further on.
    server = std::make_unique<FakeServer>(server_path);
    REQUIRE(update_until(clock, [&] { return server->poll_clients() >= 1; }));
    CHECK(clock.stats().connects > connects_before);
    const usrvclock::Overlay moved{over_tai.clock_id, over_tai.last_sync, over_tai.shift + 2'000'000, over_tai.freq_scale};
    server->send(moved);
    REQUIRE(update_until(clock, [&] { return clock.stats().overlays == 3; }));
    s = clock.snapshot();
    CHECK(s.state == ClockState::locked);
    CHECK(s.generation > generation_in_holdover);  // a 2 ms step: clients re-anchor
    CHECK(std::llabs(s.offset_ns - 2'000'000) < 100'000);
    CHECK(std::llabs(s.media_ns_at(monotonic_now_ns()) - moved.overlay_ns_at(clock_now_ns(CLOCK_TAI))) < 100'000);
}

TEST_CASE("usrvclock over an unslewed clock measures its rate; the reply socket is cleaned up") {
    TempDir dir;
    const std::string server_path = dir.path / "srv";
    UsrvclockClock::Options options;
    options.first_backoff_ns = 10'000'000;
    options.client_dir = dir.path;
    {
        FakeServer server(server_path);
        UsrvclockClock clock(server_path, options);
        REQUIRE(update_until(clock, [&] { return server.poll_clients() == 1; }));
        server.send({CLOCK_MONOTONIC_RAW, clock_now_ns(CLOCK_MONOTONIC_RAW), 1'000'000'000, 0.0});
        REQUIRE(update_until(clock, [&] { return clock.stats().overlays == 1; }));
        for (int i = 0; i < 5; ++i) {
            usleep(20'000);
            clock.update();
        }
        // MONOTONIC_RAW differs from MONOTONIC only by NTP's frequency correction (< 500 ppm).
        CHECK(std::fabs(clock.snapshot().rate - 1.0) < 600e-6);
        CHECK(clock.snapshot().state == ClockState::locked);
        bool client_socket_exists = false;
        for (const auto& entry : fs::directory_iterator(dir.path))
            client_socket_exists |= entry.path().filename().string().starts_with("dante-usrvclock-client.");
        CHECK(client_socket_exists);
    }
    for (const auto& entry : fs::directory_iterator(dir.path))
        CHECK_FALSE(entry.path().filename().string().starts_with("dante-usrvclock-client."));
}

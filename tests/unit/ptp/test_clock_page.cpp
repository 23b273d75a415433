// The clock page between pipewire-dante-ptp and unprivileged readers (ptp/clock_page.hpp)
// and the SharedPtpClock that reads it: what a reader accepts, what it refuses, and the
// states it reports as the service comes, goes and comes back.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ptp/clock_page.hpp"
#include "ptp/shared_ptp_clock.hpp"
#include "util/clock_now.hpp"

using namespace dante;
using namespace dante::ptp;

namespace {

constexpr const char* kInterface = "test0";

struct TempDir {
    std::string path;
    TempDir() {
        char name[] = "/tmp/dante-clock-page-XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

SharedPtpState live_state(ClockState state, uint64_t generation = 0) {
    SharedPtpState s;
    s.instance = 7;
    s.pid = 4242;
    s.heartbeat_mono_ns = monotonic_now_ns();
    s.clock.media_ns = 5'000'000'000;
    s.clock.monotonic_ns = s.heartbeat_mono_ns;
    s.clock.rate = 1.000002;
    s.clock.generation = generation;
    s.clock.state = state;
    std::string("00:11:22:ff:fe:33:44:55").copy(s.grandmaster.data(), s.grandmaster.size() - 1);
    s.status.port_state = PortState::master;
    return s;
}

std::string value_of(const std::vector<std::pair<std::string, std::string>>& props, const std::string& key) {
    for (const auto& [k, v] : props)
        if (k == key) return v;
    return "<absent>";
}

}  // namespace

TEST_CASE("the page path names the interface and the network namespace") {
    const std::string path = clock_page_path("/run/x", "eth0");
    REQUIRE(!path.empty());
    CHECK(path.rfind("/run/x/ptp.", 0) == 0);
    CHECK(path.size() > std::string("/run/x/ptp..eth0").size());
    CHECK(path.substr(path.size() - 5) == ".eth0");
}

TEST_CASE("a writer's page reads back whole, read-only, mode 0644") {
    TempDir dir;
    std::string error;
    auto writer = ClockPageWriter::create(dir.path, kInterface, error);
    REQUIRE_MESSAGE(writer, error);
    writer->publish(live_state(ClockState::locked, 3));
    struct stat st {};
    REQUIRE(::stat(writer->path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    bool missing = true;
    auto mapping = ClockPageMapping::open(writer->path(), error, missing);
    REQUIRE_MESSAGE(mapping, error);
    CHECK(!missing);
    const auto state = mapping->read();
    REQUIRE(state);
    CHECK(state->clock.generation == 3);
    CHECK(state->clock.state == ClockState::locked);
    CHECK(std::string(state->grandmaster.data()) == "00:11:22:ff:fe:33:44:55");
    CHECK(plausible(*state, error));
}

TEST_CASE("a second writer for the same interface is refused while the first lives") {
    TempDir dir;
    std::string error;
    auto first = ClockPageWriter::create(dir.path, kInterface, error);
    REQUIRE(first);
    auto second = ClockPageWriter::create(dir.path, kInterface, error);
    CHECK(!second);
    CHECK(error.find("already serves") != std::string::npos);
    first.reset();
    CHECK(ClockPageWriter::create(dir.path, kInterface, error));
}

TEST_CASE("a reader refuses files that are not a page this build reads") {
    TempDir dir;
    std::string error;
    bool missing = false;
    CHECK(!ClockPageMapping::open(dir.path + "/nothing", error, missing));
    CHECK(missing);

    const std::string small = dir.path + "/small";
    std::ofstream(small) << "not a page";
    ::chmod(small.c_str(), 0644);
    CHECK(!ClockPageMapping::open(small, error, missing));
    CHECK(!missing);

    const std::string garbage = dir.path + "/garbage";
    {
        std::ofstream out(garbage, std::ios::binary);
        std::string bytes(kClockPageSize, '\xa5');
        out << bytes;
    }
    ::chmod(garbage.c_str(), 0644);
    CHECK(!ClockPageMapping::open(garbage, error, missing));
    CHECK(error.find("bad magic") != std::string::npos);

    // Group- or world-writable: anyone could have written it.
    auto writer = ClockPageWriter::create(dir.path, kInterface, error);
    REQUIRE(writer);
    ::chmod(writer->path().c_str(), 0666);
    CHECK(!ClockPageMapping::open(writer->path(), error, missing));
    ::chmod(writer->path().c_str(), 0644);
    CHECK(ClockPageMapping::open(writer->path(), error, missing));
}

TEST_CASE("a page of another layout is refused with a message naming both") {
    TempDir dir;
    std::string error;
    auto writer = ClockPageWriter::create(dir.path, kInterface, error);
    REQUIRE(writer);
    const int fd = ::open(writer->path().c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    auto* page = static_cast<ClockPage*>(::mmap(nullptr, kClockPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    ::close(fd);
    page->header.layout = kClockPageLayout + 1;
    ::munmap(page, kClockPageSize);
    bool missing = false;
    CHECK(!ClockPageMapping::open(writer->path(), error, missing));
    CHECK(error.find("different versions") != std::string::npos);
}

TEST_CASE("implausible states are refused: unknown state, wild rate, unterminated id") {
    std::string why;
    SharedPtpState s = live_state(ClockState::locked);
    CHECK(plausible(s, why));
    SharedPtpState bad_state = s;
    reinterpret_cast<uint8_t&>(bad_state.clock.state) = 200;
    CHECK(!plausible(bad_state, why));
    SharedPtpState bad_rate = s;
    bad_rate.clock.rate = 1.5;
    CHECK(!plausible(bad_rate, why));
    bad_rate.clock.rate = std::numeric_limits<double>::quiet_NaN();
    CHECK(!plausible(bad_rate, why));
    SharedPtpState bad_id = s;
    bad_id.grandmaster.fill('x');
    CHECK(!plausible(bad_id, why));
    SharedPtpState bad_port = s;
    reinterpret_cast<uint8_t&>(bad_port.status.port_state) = 99;
    CHECK(!plausible(bad_port, why));
}

TEST_CASE("a reader waits unsynchronized for the service, locks when it appears, holds over when it stops") {
    TempDir dir;
    SharedPtpClock clock(kInterface, dir.path, "cannot bind: Permission denied");
    CHECK(clock.snapshot().state == ClockState::unsynchronized);
    CHECK(clock.problem().find("pipewire-dante-ptp@test0") != std::string::npos);
    CHECK(clock.problem().find("Permission denied") != std::string::npos);
    CHECK(clock.provider() == "none");
    CHECK(clock.properties().empty());

    std::string error;
    auto writer = ClockPageWriter::create(dir.path, kInterface, error);
    REQUIRE(writer);
    writer->publish(live_state(ClockState::master, 2));
    clock.update();
    CHECK(clock.problem().empty());
    CHECK(clock.provider() == "pipewire-dante-ptp@test0 (pid 4242)");
    ClockSnapshot snap = clock.snapshot();
    CHECK(snap.state == ClockState::master);
    CHECK(snap.rate == doctest::Approx(1.000002));
    CHECK(snap.generation == 2);
    CHECK(clock.master_id() == "00:11:22:ff:fe:33:44:55");
    CHECK(value_of(clock.properties(), "dante.ptp.port-state") == "master");

    // Every servo step reaches snapshot() at once, with no update() in between.
    SharedPtpState moved = live_state(ClockState::master, 2);
    moved.clock.rate = 0.999999;
    writer->publish(moved);
    CHECK(clock.snapshot().rate == doctest::Approx(0.999999));

    // The heartbeat stops: holdover on the last line, and the reason.
    SharedPtpState old = moved;
    old.heartbeat_mono_ns -= 3 * SharedPtpClock::kStaleNs;
    writer->publish(old);
    clock.update();
    CHECK(clock.snapshot().state == ClockState::holdover);
    CHECK(clock.problem().find("stopped") != std::string::npos);
}

TEST_CASE("a restarted service is a new timescale: the generation moves past every earlier one") {
    TempDir dir;
    std::string error;
    auto writer = ClockPageWriter::create(dir.path, kInterface, error);
    REQUIRE(writer);
    writer->publish(live_state(ClockState::locked, 5));
    SharedPtpClock clock(kInterface, dir.path);
    CHECK(clock.snapshot().generation == 5);
    writer->withdraw();
    writer.reset();
    clock.update();  // gone: the old page is kept, its heartbeat will age into holdover
    CHECK(clock.snapshot().state == ClockState::locked);

    auto restarted = ClockPageWriter::create(dir.path, kInterface, error);
    REQUIRE(restarted);
    restarted->publish(live_state(ClockState::locked, 0));
    clock.update();
    const ClockSnapshot snap = clock.snapshot();
    CHECK(snap.state == ClockState::locked);
    CHECK(snap.generation > 5);
}

TEST_CASE("a page nobody writes any more is not a clock to start on") {
    TempDir dir;
    std::string error;
    auto writer = ClockPageWriter::create(dir.path, kInterface, error);
    REQUIRE(writer);
    SharedPtpState old = live_state(ClockState::locked);
    old.heartbeat_mono_ns -= 60'000'000'000;
    writer->publish(old);
    CHECK(!SharedPtpClock::service_running(kInterface, dir.path));
    SharedPtpClock clock(kInterface, dir.path);
    CHECK(clock.snapshot().state == ClockState::unsynchronized);
    CHECK(clock.problem().find("not running") != std::string::npos);
}

TEST_CASE("a service on another PTP version or domain is used, and the mismatch is said") {
    TempDir dir;
    std::string error;
    auto writer = ClockPageWriter::create(dir.path, kInterface, error);
    REQUIRE(writer);
    SharedPtpState state = live_state(ClockState::locked);
    state.version = 1;
    state.domain = 0;
    writer->publish(state);
    SharedPtpClock any(kInterface, dir.path, {}, {0, 0});
    CHECK(any.problem().empty());
    SharedPtpClock v2(kInterface, dir.path, {}, {2, 0});
    CHECK(v2.snapshot().state == ClockState::locked);
    CHECK(v2.problem().find("runs PTPv1 domain 0, not the configured PTPv2 domain 0") != std::string::npos);
    SharedPtpClock domain3(kInterface, dir.path, {}, {0, 3});
    CHECK(domain3.problem().find("not the configured domain 3") != std::string::npos);
}

// ControlService on the loopback interface: real sockets, a real control thread, the
// state file in a temp dir; no Avahi daemon is needed (mDNS must report "unavailable" or
// keep trying, and the service must work regardless).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <string>
#include <thread>

#include "control/control_service.hpp"
#include "control_test_support.hpp"
#include "loopback_client.hpp"

using namespace control_test;

namespace {

// The user names of a 0x2010 reply.
std::vector<std::string> user_names(const Packet& reply) {
    std::vector<std::string> names;
    if (reply.size() < 12) return names;
    const size_t n = reply[10];
    for (size_t i = 0; i < n; ++i) {
        const size_t at = 12 + 6 * i + 4;
        const size_t offset = (reply[at] << 8) | reply[at + 1];
        names.emplace_back(reinterpret_cast<const char*>(reply.data() + offset));
    }
    return names;
}

dante::DeviceConfig loopback_config(uint16_t port_base) {
    dante::DeviceConfig config;
    config.device_name = "unit-tx";
    config.interface = std::string("lo");
    config.channels = 4;
    config.port_base = port_base;
    return config;
}

}  // namespace

TEST_CASE("ControlService answers ARC and CMC on loopback, persists renames, survives junk") {
    const auto dir = std::filesystem::temp_directory_path() / ("ctl-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string state_file = (dir / "state.json").string();
    const auto base = static_cast<uint16_t>(31000 + (getpid() % 2000) * 4);
    const dante::DeviceConfig config = loopback_config(base);

    {
        dante::ControlService service(config, state_file);
        std::string error;
        REQUIRE_MESSAGE(service.start(error), error);
        CHECK(service.ports().arc == base);
        const std::string mdns = prop(service.properties(), "dante.mdns.state");
        CHECK(mdns != "published");  // just started: the built-in responder is still probing

        Client client;
        Packet reply = client.ask(netaudio_packet(0x1002), base);
        REQUIRE(reply.size() > 10);
        CHECK(std::string(reinterpret_cast<const char*>(reply.data() + 10)) == "unit-tx");

        reply = client.ask(paged_request(0x2010, 1), base);
        CHECK(user_names(reply) == std::vector<std::string>{"01", "02", "03", "04"});

        reply = client.ask(set_tx_channel_name_request(2, "Guitar L"), base);
        REQUIRE(reply.size() >= 10);
        CHECK(reply[9] == 0x01);
        reply = client.ask(paged_request(0x2010, 1), base);
        CHECK(user_names(reply) == std::vector<std::string>{"01", "Guitar L", "03", "04"});

        reply = client.ask(set_name_request("renamed-tx"), base);
        REQUIRE(reply.size() >= 10);
        CHECK(reply[9] == 0x01);
        CHECK(prop(service.properties(), "dante.device-name") == "renamed-tx");
        CHECK(prop(service.properties(), "dante.control.renames") == "2");

        // ARC 0x1101 (netaudio's command_set_latency, 2 ms): applied, advertised, read back.
        CHECK(prop(service.properties(), "dante.control.latency-ns") == "4000000");
        reply = client.ask(netaudio_packet(0x1101, hex("0000 0503 8205 0020 0211 0010 8301 0024 8219 8301 8302 8306"
                                                       "1e8480 00 1e8480")),
                           base);
        REQUIRE(reply.size() >= 10);
        CHECK(reply[9] == 0x01);
        CHECK(prop(service.properties(), "dante.control.latency-ns") == "2000000");
        reply = client.ask(netaudio_packet(0x1100), base);
        REQUIRE(reply.size() == 0x60);
        CHECK(to_hex(Packet(reply.begin() + 0x28, reply.begin() + 0x2c)) == "001e 8480");  // 0x8204

        // A bad label is refused with an error status and changes nothing.
        reply = client.ask(set_tx_channel_name_request(1, "a@b"), base);
        REQUIRE(reply.size() >= 10);
        CHECK(((reply[8] << 8) | reply[9]) == 0x0022);

        // Settings requests on the info port: interface, clock and AES67 are answered (by
        // multicast, so only the counters show it here); a sample-rate change is well-formed
        // but unsupported; a datagram without the conmon shape is malformed.
        {
            const auto settings = [](uint16_t opcode, const Packet& body) {
                Packet p = hex("ffff");
                put_u16(p, static_cast<uint16_t>(32 + body.size()));
                p = concat({p, hex("0000 0000 0000 0000 0000 0000 'Audinate' 073a")});
                put_u16(p, opcode);
                return concat({p, hex("0000 0064"), body});
            };
            // The last ARC reply reached us before the service counted it (it counts after the
            // send): let it settle, or it lands in this section's delta.
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            const auto before = service.stats();
            const uint16_t info_port = static_cast<uint16_t>(base + 3);
            client.send(settings(0x0013, Packet(8, 0)), info_port);
            client.send(settings(0x0021, Packet(60, 0)), info_port);
            client.send(settings(0x1006, Packet(4, 0)), info_port);
            client.send(settings(0x0081, hex("0000 0001 0001 7700")), info_port);
            client.send(hex("ffff 0004"), info_port);
            const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            while (service.stats().requests - before.requests < 5 && std::chrono::steady_clock::now() < give_up)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            const auto after = service.stats();
            CHECK(after.replies - before.replies == 3);
            CHECK(after.unsupported - before.unsupported == 1);
            CHECK(after.malformed - before.malformed == 1);
            CHECK(prop(service.properties(), "dante.control.unsupported") == std::to_string(after.unsupported));
        }

        // CMC registration.
        reply = client.ask(netaudio_packet(0x1001, {0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0}, 7, 0x1200),
                           static_cast<uint16_t>(base + 1));
        REQUIRE(reply.size() == 32);
        CHECK(((reply[28] << 8) | reply[29]) == base + 3);  // the info port

        // A flood of junk from another source: rate-limited, and the first client still answered.
        // Sent in bursts of 100, each waited for until the service has seen it: a socket
        // buffer holds only a few hundred small datagrams, and on a loaded machine (or under
        // ASan) a blind burst of 3000 would mostly be dropped by the kernel, never reaching
        // the limiter this test is about.
        Client flooder(2);
        const auto seen = [&] {
            const auto s = service.stats();
            return s.rate_limited + s.requests;
        };
        const uint64_t seen_before = seen();
        for (int burst = 0; burst < 30; ++burst) {
            for (int i = 0; i < 100; ++i) flooder.send(Packet(static_cast<size_t>(i % 40), 0xff), base);
            const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            while (seen() - seen_before < static_cast<uint64_t>(burst + 1) * 100 &&
                   std::chrono::steady_clock::now() < give_up)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        reply = client.ask(netaudio_packet(0x1002), base);
        REQUIRE(reply.size() > 10);
        CHECK(std::string(reinterpret_cast<const char*>(reply.data() + 10)) == "renamed-tx");
        const auto stats = service.stats();
        CHECK(stats.rate_limited > 1000);
        CHECK(stats.malformed > 0);
        service.stop();
    }

    {
        dante::ControlService service(config, state_file);
        std::string error;
        REQUIRE_MESSAGE(service.start(error), error);
        Client client;
        Packet reply = client.ask(netaudio_packet(0x1002), base);
        REQUIRE(reply.size() > 10);
        CHECK(std::string(reinterpret_cast<const char*>(reply.data() + 10)) == "renamed-tx");
        reply = client.ask(paged_request(0x2010, 1), base);
        CHECK(user_names(reply) == std::vector<std::string>{"01", "Guitar L", "03", "04"});
        CHECK(prop(service.properties(), "dante.device-name") == "renamed-tx");
        CHECK(prop(service.properties(), "dante.control.latency-ns") == "2000000");  // from the state file
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("ControlService refuses an unknown interface with a message") {
    dante::DeviceConfig config = loopback_config(0);
    config.interface = std::string("no-such-if0");
    dante::ControlService service(config, "");
    std::string error;
    CHECK_FALSE(service.start(error));
    CHECK(error.find("no-such-if0") != std::string::npos);
}

TEST_CASE("ControlService starts from the last good copy of a bad state file, or its defaults, and says so") {
    const auto dir = std::filesystem::temp_directory_path() / ("ctl-bad-state-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const std::string state_file = (dir / "state.json").string();
    const auto base = static_cast<uint16_t>(33000 + (getpid() % 2000) * 4);
    const dante::DeviceConfig config = loopback_config(base);
    auto write = [](const std::string& path, const std::string& text) {
        FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f != nullptr);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    };
    auto device_name = [&] {
        Client client;
        Packet reply = client.ask(netaudio_packet(0x1002), base);
        REQUIRE(reply.size() > 10);
        return std::string(reinterpret_cast<const char*>(reply.data() + 10));
    };

    write(state_file, "{\"version\": 1, \"device_name\": \"saved-tx\", \"tx_chan");  // truncated
    write(state_file + ".bak", R"({"version": 1, "device_name": "backup-tx", "tx_channel_names": ["Kick"]})");
    {
        dante::ControlService service(config, state_file);
        std::string error;
        REQUIRE_MESSAGE(service.start(error), error);
        CHECK(device_name() == "backup-tx");
        const std::string why = prop(service.properties(), "dante.control.state-error");
        CHECK(why.find("not valid JSON") != std::string::npos);
        CHECK(why.find("using the last good copy") != std::string::npos);
        // A rename saves a good file; the bad one is kept aside, the error cleared.
        Client client;
        Packet reply = client.ask(set_name_request("renamed-tx"), base);
        REQUIRE(reply.size() >= 10);
        CHECK(reply[9] == 0x01);
        CHECK(prop(service.properties(), "dante.control.state-error") == "");
        CHECK(std::filesystem::exists(state_file + ".rejected"));
        service.stop();
    }

    write(state_file, "\x7f" "ELF garbage");
    std::filesystem::remove(state_file + ".bak");
    {
        dante::ControlService service(config, state_file);
        std::string error;
        REQUIRE_MESSAGE(service.start(error), error);
        CHECK(device_name() == "unit-tx");  // the configured default
        const std::string why = prop(service.properties(), "dante.control.state-error");
        CHECK(why.find("keeping the defaults") != std::string::npos);
        service.stop();
    }
    std::filesystem::remove_all(dir);
}

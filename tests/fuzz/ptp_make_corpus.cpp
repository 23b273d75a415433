// Writes the seed corpora for the PTP fuzz targets with our own encoders: one valid
// packet of each message type and version.  usage: ptp_make_corpus V1_DIR V2_DIR
// (The committed files under tests/fuzz/corpus/ came from this; rerun it after a layout change.)
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "ptp/v1_messages.hpp"
#include "ptp/v2_messages.hpp"

using namespace dante::ptp;

namespace {

bool write(const std::string& path, const uint8_t* data, size_t size) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return static_cast<bool>(out);
}

template <typename Message, size_t (*Encode)(const Message&, std::span<uint8_t>)>
bool emit(const std::string& dir, const char* name, const Message& m) {
    std::array<uint8_t, 128> buffer{};
    const size_t n = Encode(m, buffer);
    if (n == 0) {
        std::fprintf(stderr, "could not encode %s\n", name);
        return false;
    }
    return write(dir + "/" + name + ".bin", buffer.data(), n);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s V1_DIR V2_DIR\n", argv[0]);
        return 2;
    }
    const std::string v1_dir = argv[1];
    const std::string v2_dir = argv[2];
    const V1Uuid uuid = {0x00, 0x1d, 0xc1, 0x0a, 0x0b, 0x0c};
    bool ok = true;

    v1::Message sync;
    sync.header.source_uuid = uuid;
    sync.header.sequence_id = 100;
    sync.header.flags = v1::flag::assist;
    v1::SyncBody body;
    body.origin = {1000, 500'000'000};
    body.grandmaster.clock_uuid = uuid;
    body.grandmaster.preferred = true;
    body.sync_interval = -2;
    body.parent_uuid = uuid;
    sync.body = body;
    ok &= emit<v1::Message, v1::encode>(v1_dir, "sync", sync);

    v1::Message delay_req = sync;
    delay_req.header.control = v1::Control::delay_req;
    delay_req.header.flags = 0;
    std::get<v1::SyncBody>(delay_req.body).sync_interval = 0x7F;
    ok &= emit<v1::Message, v1::encode>(v1_dir, "delay_req", delay_req);

    v1::Message follow_up;
    follow_up.header = sync.header;
    follow_up.header.control = v1::Control::follow_up;
    follow_up.body = v1::FollowUpBody{100, {1000, 500'001'234}};
    ok &= emit<v1::Message, v1::encode>(v1_dir, "follow_up", follow_up);

    v1::Message delay_resp;
    delay_resp.header = sync.header;
    delay_resp.header.control = v1::Control::delay_resp;
    delay_resp.body = v1::DelayRespBody{{1000, 700'000'000}, 1, {0x02, 0, 0, 0, 0, 1}, 1, 55};
    ok &= emit<v1::Message, v1::encode>(v1_dir, "delay_resp", delay_resp);

    const ClockIdentity id = {0x00, 0x1d, 0xc1, 0xff, 0xfe, 0x0a, 0x0b, 0x0c};
    v2::Message announce;
    announce.header.type = v2::MessageType::announce;
    announce.header.source = {id, 1};
    announce.header.log_message_interval = 1;
    v2::AnnounceBody a;
    a.grandmaster = id;
    announce.body = a;
    ok &= emit<v2::Message, v2::encode>(v2_dir, "announce", announce);

    v2::Message v2_sync;
    v2_sync.header.type = v2::MessageType::sync;
    v2_sync.header.flags = v2::flag::two_step;
    v2_sync.header.source = {id, 1};
    v2_sync.header.log_message_interval = -3;
    v2_sync.body = v2::TimestampBody{{1000, 1}};
    ok &= emit<v2::Message, v2::encode>(v2_dir, "sync", v2_sync);

    v2::Message v2_follow_up = v2_sync;
    v2_follow_up.header.type = v2::MessageType::follow_up;
    v2_follow_up.header.flags = 0;
    v2_follow_up.header.correction = 3 * 65536;
    ok &= emit<v2::Message, v2::encode>(v2_dir, "follow_up", v2_follow_up);

    v2::Message v2_delay_req = v2_sync;
    v2_delay_req.header.type = v2::MessageType::delay_req;
    v2_delay_req.header.flags = 0;
    v2_delay_req.header.log_message_interval = 0x7F;
    ok &= emit<v2::Message, v2::encode>(v2_dir, "delay_req", v2_delay_req);

    v2::Message v2_delay_resp = v2_sync;
    v2_delay_resp.header.type = v2::MessageType::delay_resp;
    v2_delay_resp.header.flags = 0;
    v2_delay_resp.body = v2::DelayRespBody{{1000, 2}, {{2, 0, 0, 0xff, 0xfe, 0, 0, 1}, 1}};
    ok &= emit<v2::Message, v2::encode>(v2_dir, "delay_resp", v2_delay_resp);

    return ok ? 0 : 1;
}

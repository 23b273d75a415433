#include "control/cmc_server.hpp"

namespace dante::control {

std::optional<std::vector<uint8_t>> handle_cmc_request(Bytes request, const CmcIdentity& identity) {
    const auto header = parse_control_header(request);
    if (!header || header->status != kStatusRequest || header->opcode != kCmcRegister) return std::nullopt;
    PacketWriter out = PacketWriter::response_to(*header, kStatusOk);
    out.u16(identity.process_id);
    out.bytes(identity.device_id);
    out.u16(1);
    out.u16(0);
    out.u32(identity.ipv4);
    out.u16(identity.info_request_port);
    out.u16(0);
    return std::move(out).finish();
}

}  // namespace dante::control

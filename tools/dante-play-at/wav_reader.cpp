#include "wav_reader.hpp"

#include <cstring>
#include <fstream>
#include <iterator>

namespace dante::tools {

namespace {

uint32_t le16(const uint8_t* p) { return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | (le16(p + 2) << 16); }

}  // namespace

bool parse_wav(const std::vector<uint8_t>& bytes, Wav& out, std::string& error) {
    const size_t size = bytes.size();
    const uint8_t* data = bytes.data();
    if (size < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WAVE", 4) != 0) {
        error = "not a RIFF/WAVE file";
        return false;
    }
    bool have_fmt = false;
    uint32_t tag = 0, block_align = 0;
    size_t offset = 12;
    while (offset + 8 <= size) {
        const uint8_t* chunk = data + offset;
        const uint32_t length = le32(chunk + 4);
        const size_t body = offset + 8;
        if (std::memcmp(chunk, "fmt ", 4) == 0) {
            if (length < 16 || body + length > size) {
                error = "bad fmt chunk";
                return false;
            }
            tag = le16(data + body);
            out.channels = le16(data + body + 2);
            out.rate = le32(data + body + 4);
            block_align = le16(data + body + 12);
            out.bits = le16(data + body + 14);
            if (tag == 0xFFFE) {  // WAVE_FORMAT_EXTENSIBLE: the subformat GUID starts with the tag
                if (length < 40) {
                    error = "bad extensible fmt chunk";
                    return false;
                }
                tag = le16(data + body + 24);
            }
            have_fmt = true;
        } else if (std::memcmp(chunk, "data", 4) == 0) {
            if (!have_fmt) {
                error = "data chunk before fmt chunk";
                return false;
            }
            if (out.channels == 0 || out.channels > 64 || out.rate == 0) {
                error = "bad channel count or rate";
                return false;
            }
            out.is_float = tag == 3;
            const bool supported = (tag == 1 && (out.bits == 16 || out.bits == 24 || out.bits == 32)) ||
                                   (tag == 3 && out.bits == 32);
            if (!supported) {
                error = "unsupported sample format (tag " + std::to_string(tag) + ", " + std::to_string(out.bits) +
                        " bits): PCM S16/S24/S32 or F32 only";
                return false;
            }
            const uint32_t width = out.bits / 8;
            if (block_align != width * out.channels) {
                error = "bad block alignment";
                return false;
            }
            // A truncated file (or a streaming writer's 0xFFFFFFFF size) keeps what is there.
            const size_t available = std::min<size_t>(length, size - body);
            out.frames = available / block_align;
            const size_t samples = out.frames * out.channels;
            const uint8_t* p = data + body;
            if (out.is_float) {
                out.f32.resize(samples);
                for (size_t i = 0; i < samples; ++i) {
                    const uint32_t bits = le32(p + i * 4);
                    std::memcpy(&out.f32[i], &bits, 4);
                }
            } else {
                out.s32.resize(samples);
                for (size_t i = 0; i < samples; ++i) {
                    const uint8_t* s = p + i * width;
                    uint32_t v = 0;
                    if (width == 2) v = le16(s) << 16;
                    else if (width == 3) v = (static_cast<uint32_t>(s[0]) << 8) | (static_cast<uint32_t>(s[1]) << 16) | (static_cast<uint32_t>(s[2]) << 24);
                    else v = le32(s);
                    out.s32[i] = static_cast<int32_t>(v);
                }
            }
            return true;
        }
        offset = body + length + (length & 1);  // chunks are word-aligned
    }
    error = have_fmt ? "no data chunk" : "no fmt chunk";
    return false;
}

bool read_wav(const std::string& path, Wav& out, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot open " + path;
        return false;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_wav(bytes, out, error);
}

}  // namespace dante::tools

#pragma once
// A small PCM WAV reader: RIFF/WAVE with PCM 16/24/32-bit integer or 32-bit float samples
// (also WAVE_FORMAT_EXTENSIBLE with a PCM or float subformat). Samples are kept
// interleaved, as S32 (integers, left-aligned: S16 << 16, S24 << 8, exact) or F32.

#include <cstdint>
#include <string>
#include <vector>

namespace dante::tools {

struct Wav {
    uint32_t rate = 0;
    uint32_t channels = 0;
    uint32_t bits = 0;           // bits per sample in the file
    bool is_float = false;       // F32 (samples in f32) or integer (samples in s32)
    uint64_t frames = 0;
    std::vector<int32_t> s32;    // interleaved, left-aligned to 32 bits
    std::vector<float> f32;      // interleaved
};

// Parses `bytes` (a whole WAV file). On failure returns false and sets `error`.
bool parse_wav(const std::vector<uint8_t>& bytes, Wav& out, std::string& error);
bool read_wav(const std::string& path, Wav& out, std::string& error);

}  // namespace dante::tools

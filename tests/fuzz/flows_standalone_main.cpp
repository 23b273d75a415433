// A deterministic stand-in for libFuzzer's driver, so the flow-control fuzz target runs
// as an ordinary test (and under ASan/UBSan): every corpus file, then 20,000 mutations of
// them from a fixed seed. Mutations are the usual byte-level ones plus a few aimed at this
// protocol: fix the length field (so the body parser is reached), and poke 16-bit fields
// with edge values (offsets, counts).
//
// usage: flows-control-fuzz CORPUS_DIR [ITERATIONS]

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

struct Rng {
    uint64_t s = 0x243F6A8885A308D3ull;
    uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
};

void fix_length(std::vector<uint8_t>& d) {
    if (d.size() >= 4 && d.size() <= 0xFFFF) {
        d[2] = static_cast<uint8_t>(d.size() >> 8);
        d[3] = static_cast<uint8_t>(d.size());
    }
}

void mutate(std::vector<uint8_t>& d, Rng& rng) {
    static const uint16_t kEdges[] = {0, 1, 2, 7, 8, 9, 10, 0x30, 0x40, 0x7F, 0x80, 0xFF, 0x100, 0x0802, 0x1102,
                                      0x7FFF, 0x8000, 0xFFFE, 0xFFFF};
    const int rounds = 1 + static_cast<int>(rng.below(4));
    for (int i = 0; i < rounds; ++i) {
        switch (rng.below(7)) {
            case 0:
                if (!d.empty()) d[rng.below(d.size())] ^= static_cast<uint8_t>(1u << rng.below(8));
                break;
            case 1:
                if (!d.empty()) d[rng.below(d.size())] = static_cast<uint8_t>(rng.next());
                break;
            case 2:
                if (d.size() >= 2) {
                    const size_t at = rng.below(d.size() - 1);
                    const uint16_t v = kEdges[rng.below(std::size(kEdges))];
                    d[at] = static_cast<uint8_t>(v >> 8);
                    d[at + 1] = static_cast<uint8_t>(v);
                }
                break;
            case 3:
                if (!d.empty()) d.resize(rng.below(d.size() + 1));
                break;
            case 4:
                if (d.size() < 2000) d.insert(d.begin() + static_cast<long>(rng.below(d.size() + 1)),
                                              static_cast<uint8_t>(rng.next()));
                break;
            case 5:
                if (!d.empty()) d.erase(d.begin() + static_cast<long>(rng.below(d.size())));
                break;
            default:
                break;
        }
    }
    if (rng.below(4) != 0) fix_length(d);  // mostly keep the header consistent
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
        return 2;
    }
    const long iterations = argc > 2 ? std::atol(argv[2]) : 20000;
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(argv[1]))
        if (entry.is_regular_file()) paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());
    std::vector<std::vector<uint8_t>> corpus;
    for (const auto& path : paths) {
        std::ifstream in(path, std::ios::binary);
        corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (corpus.empty()) {
        std::fprintf(stderr, "no corpus files in %s\n", argv[1]);
        return 1;
    }
    for (const auto& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
    Rng rng;
    for (long i = 0; i < iterations; ++i) {
        std::vector<uint8_t> input = corpus[rng.below(corpus.size())];
        mutate(input, rng);
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }
    std::printf("flows-control-fuzz: %zu corpus files, %ld mutations, no failure\n", corpus.size(), iterations);
    return 0;
}

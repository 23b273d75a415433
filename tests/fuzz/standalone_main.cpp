// A stand-in for libFuzzer's driver, so fuzz targets run as ordinary tests under ASan with
// g++ (libFuzzer needs clang). It replays every file in the corpus directories given as
// arguments, then N inputs mutated from them with a fixed seed: deterministic, so a
// failure in CI reproduces locally with the same command line.
//
//   usage: <target> [--mutations=N] [--seed=S] DIR...
// On a crash, rerun with the same arguments under a debugger: the sequence is reproducible.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

struct Rng {  // xorshift64*: small, fixed, same numbers on every platform
    uint64_t state;
    uint64_t next() {
        state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
        return state * 0x2545F4914F6CDD1Dull;
    }
    size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
};

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void mutate(std::vector<uint8_t>& data, Rng& rng) {
    const size_t edits = 1 + rng.below(8);
    for (size_t e = 0; e < edits; ++e) {
        switch (rng.below(7)) {
            case 0:  // flip one bit
                if (!data.empty()) data[rng.below(data.size())] ^= static_cast<uint8_t>(1u << rng.below(8));
                break;
            case 1:  // set a byte to an interesting value
                if (!data.empty()) {
                    static constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, 0x3B, 0x9A};
                    data[rng.below(data.size())] = kInteresting[rng.below(sizeof kInteresting)];
                }
                break;
            case 2:  // random byte
                if (!data.empty()) data[rng.below(data.size())] = static_cast<uint8_t>(rng.next());
                break;
            case 3:  // truncate
                data.resize(rng.below(data.size() + 1));
                break;
            case 4:  // extend with random bytes
                for (size_t i = rng.below(32); i > 0; --i) data.push_back(static_cast<uint8_t>(rng.next()));
                break;
            case 5:  // erase a range
                if (!data.empty()) {
                    const size_t at = rng.below(data.size());
                    const size_t n = 1 + rng.below(data.size() - at);
                    data.erase(data.begin() + static_cast<long>(at), data.begin() + static_cast<long>(at + n));
                }
                break;
            default:  // insert a random byte
                data.insert(data.begin() + static_cast<long>(rng.below(data.size() + 1)),
                            static_cast<uint8_t>(rng.next()));
                break;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    size_t mutations = 20000;
    uint64_t seed = 0x5EED'0F'D4'17E5ull;
    std::vector<std::vector<uint8_t>> corpus;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with("--mutations=")) {
            mutations = std::strtoull(argv[i] + 12, nullptr, 10);
        } else if (arg.starts_with("--seed=")) {
            seed = std::strtoull(argv[i] + 7, nullptr, 0);
        } else {
            std::error_code ec;
            for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
                if (entry.is_regular_file()) corpus.push_back(read_file(entry.path()));
            }
            if (ec) {
                std::fprintf(stderr, "cannot read corpus dir %s: %s\n", argv[i], ec.message().c_str());
                return 2;
            }
        }
    }
    for (const auto& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());

    Rng rng{seed == 0 ? 1 : seed};
    for (size_t i = 0; i < mutations; ++i) {
        std::vector<uint8_t> input;
        if (!corpus.empty() && rng.below(8) != 0) {
            input = corpus[rng.below(corpus.size())];
        } else {
            input.resize(rng.below(160));
            for (auto& b : input) b = static_cast<uint8_t>(rng.next());
        }
        mutate(input, rng);
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }
    std::printf("%zu corpus inputs, %zu mutations (seed %llu): ok\n", corpus.size(), mutations,
                static_cast<unsigned long long>(seed));
    return 0;
}

// Runs a libFuzzer-style target without libFuzzer (g++ has none): every file of the corpus
// directories given as arguments, then a fixed number of mutations of them, from a fixed
// seed, so that the run is the same every time and a failure can be replayed. The target
// aborts on a broken invariant; the sanitizer builds catch memory errors.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr size_t kMutations = 20'000;
constexpr uint64_t kSeed = 0x5eed'da7e'0000'0001;
constexpr size_t kMaxInput = 2048;

// xorshift64*: small, deterministic on every platform (std distributions are not).
class Random {
public:
    explicit Random(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545F4914F6CDD1DULL;
    }
    size_t below(size_t bound) { return bound == 0 ? 0 : static_cast<size_t>(next() % bound); }

private:
    uint64_t state_;
};

// One random edit, biased to what matters in these packets: u16 fields, offsets, NULs.
void mutate(std::vector<uint8_t>& data, Random& random) {
    static constexpr uint16_t kInteresting[] = {0, 1, 2, 9, 10, 11, 0x10, 0x18, 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x100,
                                                0x1001, 0x1002, 0x2000, 0x2010, 0x2013, 0x2200, 0x3000, 0x7fff,
                                                0x8000, 0xfffe, 0xffff};
    const size_t at = random.below(data.size() + 1);
    switch (random.below(7)) {
        case 0:  // flip a bit
            if (!data.empty()) data[std::min(at, data.size() - 1)] ^= static_cast<uint8_t>(1u << random.below(8));
            break;
        case 1:  // set a random byte
            if (!data.empty()) data[std::min(at, data.size() - 1)] = static_cast<uint8_t>(random.next());
            break;
        case 2:  // insert bytes
            if (data.size() < kMaxInput) {
                const size_t count = 1 + random.below(8);
                for (size_t i = 0; i < count; ++i) data.insert(data.begin() + static_cast<long>(at), static_cast<uint8_t>(random.next()));
            }
            break;
        case 3:  // erase bytes
            if (at < data.size()) {
                const size_t count = std::min(data.size() - at, 1 + random.below(8));
                data.erase(data.begin() + static_cast<long>(at), data.begin() + static_cast<long>(at + count));
            }
            break;
        case 4: {  // an interesting u16
            if (data.size() >= 2) {
                const size_t pos = std::min(at, data.size() - 2);
                const uint16_t value = kInteresting[random.below(std::size(kInteresting))];
                data[pos] = static_cast<uint8_t>(value >> 8);
                data[pos + 1] = static_cast<uint8_t>(value);
            }
            break;
        }
        case 5:  // truncate
            data.resize(random.below(data.size() + 1));
            break;
        default:  // a NUL somewhere (string ends)
            if (!data.empty()) data[std::min(at, data.size() - 1)] = 0;
            break;
    }
}

std::vector<std::vector<uint8_t>> load_corpus(int argc, char** argv) {
    std::vector<std::vector<uint8_t>> corpus;
    for (int i = 1; i < argc; ++i) {
        std::error_code error;
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(argv[i], error))
            if (entry.is_regular_file()) files.push_back(entry.path());
        if (error) std::fprintf(stderr, "cannot read corpus %s: %s\n", argv[i], error.message().c_str());
        std::sort(files.begin(), files.end());  // directory order is not stable
        for (const auto& path : files) {
            std::ifstream in(path, std::ios::binary);
            corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
    }
    return corpus;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::vector<uint8_t>> corpus = load_corpus(argc, argv);
    if (corpus.empty()) {
        std::fprintf(stderr, "no corpus files: give the corpus directory as argument\n");
        return 1;
    }
    for (const auto& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());

    Random random(kSeed);
    for (size_t i = 0; i < kMutations; ++i) {
        std::vector<uint8_t> input = corpus[random.below(corpus.size())];
        const size_t edits = 1 + random.below(8);
        for (size_t e = 0; e < edits; ++e) mutate(input, random);
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }
    std::printf("fuzz: %zu corpus inputs, %zu mutations, no failure\n", corpus.size(), kMutations);
    return 0;
}

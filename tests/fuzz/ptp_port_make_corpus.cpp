// Writes the seed corpus of the PTP port fuzz target: one script per file.
//   usage: ptp-port-make-corpus DIR   (the committed tests/fuzz/corpus/ptp_port came from this)
#include <cstdio>
#include <fstream>
#include <string>

#include "ptp_port_seeds.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    bool ok = true;
    for (const auto& seed : dante::ptp::fuzz::port_seed_scripts()) {
        std::ofstream out(std::string(argv[1]) + "/" + seed.name + ".bin", std::ios::binary);
        out.write(reinterpret_cast<const char*>(seed.script.data()), static_cast<std::streamsize>(seed.script.size()));
        ok &= static_cast<bool>(out);
    }
    return ok ? 0 : 1;
}

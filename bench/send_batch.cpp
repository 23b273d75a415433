// dante-bench-send: what batching the transmitter's sends could save, on loopback only.
//
// N flows, each with its own connected UDP socket (as the transmitter has: a receiver
// may check the source port and sends its keepalives back to it), receivers bound on
// 127.0.0.1 with a small receive buffer nobody reads (so packets are dropped at the
// receiving socket, after the whole send path). Per packet, best of 7 repetitions:
//   send/flow      - one send() per flow per wake-up (the steady state: one packet each)
//   mmsg 1 socket  - one sendmmsg() from ONE unconnected socket with N destinations: the
//                    most syscall batching can do, but one source port for all flows
//                    (not wire-identical; shown as the bound)
//   mmsg/flow xK   - one sendmmsg() of K packets per connected socket (a catch-up burst)
//   send/flow xK   - the same K packets per flow with one send() each
// Usage: dante-bench-send [FLOWS [BYTES [ITERATIONS [K]]]]   (defaults 16 777 20000 5)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {
long long now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

int main(int argc, char** argv) {
    const int flows = argc > 1 ? std::max(1, std::atoi(argv[1])) : 16;
    const int size = argc > 2 ? std::max(1, std::atoi(argv[2])) : 777;  // 8 ch x 32 frames x S24 + header
    const int iters = argc > 3 ? std::max(1, std::atoi(argv[3])) : 20000;
    const int burst = argc > 4 ? std::clamp(std::atoi(argv[4]), 1, 64) : 5;
    std::vector<sockaddr_in> dst(flows);
    std::vector<int> rx(flows), tx(flows);
    for (int i = 0; i < flows; ++i) {
        rx[i] = socket(AF_INET, SOCK_DGRAM, 0);
        const int small = 4096;
        setsockopt(rx[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (bind(rx[i], reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 ||
            getsockname(rx[i], reinterpret_cast<sockaddr*>(&a), &len) < 0) {
            std::perror("bind");
            return 1;
        }
        dst[i] = a;
        tx[i] = socket(AF_INET, SOCK_DGRAM, 0);
        if (connect(tx[i], reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
            std::perror("connect");
            return 1;
        }
    }
    const int shared = socket(AF_INET, SOCK_DGRAM, 0);
    std::vector<char> buf(static_cast<size_t>(size), 7);
    iovec iov{buf.data(), buf.size()};
    std::vector<mmsghdr> to_all(flows), burst_msgs(burst);
    for (int i = 0; i < flows; ++i) {
        to_all[i].msg_hdr.msg_name = &dst[i];
        to_all[i].msg_hdr.msg_namelen = sizeof dst[i];
        to_all[i].msg_hdr.msg_iov = &iov;
        to_all[i].msg_hdr.msg_iovlen = 1;
    }
    for (auto& m : burst_msgs) {
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    const int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
    double best[4] = {1e18, 1e18, 1e18, 1e18};
    for (int rep = 0; rep < 7; ++rep) {
        const long long t0 = now_ns();
        for (int k = 0; k < iters; ++k)
            for (int i = 0; i < flows; ++i) send(tx[i], buf.data(), buf.size(), flags);
        const long long t1 = now_ns();
        for (int k = 0; k < iters; ++k) sendmmsg(shared, to_all.data(), static_cast<unsigned>(flows), flags);
        const long long t2 = now_ns();
        for (int k = 0; k < iters / burst; ++k)
            for (int i = 0; i < flows; ++i) sendmmsg(tx[i], burst_msgs.data(), static_cast<unsigned>(burst), flags);
        const long long t3 = now_ns();
        for (int k = 0; k < iters / burst; ++k)
            for (int i = 0; i < flows; ++i)
                for (int b = 0; b < burst; ++b) send(tx[i], buf.data(), buf.size(), flags);
        const long long t4 = now_ns();
        const double n = double(iters) * flows;
        const double nb = double(iters / burst) * burst * flows;
        best[0] = std::min(best[0], double(t1 - t0) / n);
        best[1] = std::min(best[1], double(t2 - t1) / n);
        best[2] = std::min(best[2], double(t3 - t2) / nb);
        best[3] = std::min(best[3], double(t4 - t3) / nb);
    }
    std::printf("flows %d, %d bytes, loopback: ns per packet: send/flow %.0f | mmsg 1 socket %.0f (%.2fx) | "
                "burst of %d: mmsg/flow %.0f vs send/flow %.0f (%.2fx)\n",
                flows, size, best[0], best[1], best[1] / best[0], burst, best[2], best[3], best[2] / best[3]);
    return 0;
}

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/device_state_store.hpp"
#include "control_test_support.hpp"

using namespace dante::control;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed afterwards.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "dante-state-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const PersistentState kGood{"stage-left", {"", "Guitar R", "Vox"}};
const PersistentState kNewer{"stage-right", {"Kick", "", "Snare"}};
const PersistentState kDefaults{"default-name", {"A"}};

void check_defaults(const StateLoadResult& loaded) {
    CHECK_FALSE(loaded.loaded);
    CHECK_FALSE(loaded.from_backup);
    CHECK(loaded.state.device_name == "default-name");
    CHECK(loaded.state.tx_channel_names == std::vector<std::string>{"A"});
}

// Failing system calls for save_persistent_state's seam (StateFileOps).
int g_writes = 0;
ssize_t write_enospc(int, const void*, size_t) {
    ++g_writes;
    errno = ENOSPC;
    return -1;
}
ssize_t write_some_then_enospc(int fd, const void* data, size_t size) {
    if (g_writes++ == 0) return ::write(fd, data, std::min<size_t>(size, 10));  // a short write first
    errno = ENOSPC;
    return -1;
}
ssize_t write_nothing(int, const void*, size_t) { return 0; }
int fsync_eio(int) {
    errno = EIO;
    return -1;
}
int rename_erofs(const char*, const char*) {
    errno = EROFS;
    return -1;
}

}  // namespace

TEST_CASE("state store: save then load gives the same state, atomically (no temp file left)") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    const PersistentState saved{"stage-left", {"", "Guitar R", "Vox"}};
    CHECK(save_persistent_state(path, saved) == "");
    CHECK_FALSE(fs::exists(path + ".tmp"));

    const auto loaded = load_persistent_state(path);
    CHECK(loaded.loaded);
    CHECK(loaded.error == "");
    CHECK(loaded.state.device_name == "stage-left");
    CHECK(loaded.state.tx_channel_names == std::vector<std::string>{"", "Guitar R", "Vox"});

    // Overwrite: the new content replaces the old.
    CHECK(save_persistent_state(path, {"other", {}}) == "");
    CHECK(load_persistent_state(path).state.device_name == "other");
}

TEST_CASE("state store: a missing file is not an error; the defaults stay") {
    TempDir dir;
    const auto loaded = load_persistent_state((dir.path / "none.json").string(), {"default-name", {}});
    CHECK_FALSE(loaded.loaded);
    CHECK(loaded.error == "");
    CHECK(loaded.state.device_name == "default-name");
}

TEST_CASE("state store: malformed files are rejected whole, with a message, keeping the defaults") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    const PersistentState defaults{"default-name", {"A"}};
    const std::pair<const char*, const char*> cases[] = {
        {"{ not json", "not valid JSON"},
        {"[1, 2]", "not a JSON object"},
        {R"({"device_name": "x"})", "\"version\" must be 1"},
        {R"({"version": 2, "device_name": "x"})", "\"version\" must be 1"},
        {R"({"version": "1"})", "\"version\" must be 1"},
        {R"({"version": 1, "device_name": 5})", "\"device_name\" must be a string"},
        {R"({"version": 1, "device_name": "bad name"})", "not a valid Dante device name"},
        {R"({"version": 1, "device_name": "-x"})", "not a valid Dante device name"},
        {R"({"version": 1, "tx_channel_names": "Left"})", "must be an array of strings"},
        {R"({"version": 1, "tx_channel_names": ["ok", 3]})", "\"tx_channel_names\"[1] must be a string"},
        {R"({"version": 1, "tx_channel_names": ["a@b"]})", "\"tx_channel_names\"[0] is not a valid channel label"},
        {R"({"version": 1, "latency_ns": "1000000"})", "\"latency_ns\" must be an integer"},
        {R"({"version": 1, "latency_ns": 99999})", "\"latency_ns\" must be 0 or 100000 to 100000000"},
        {R"({"version": 1, "latency_ns": 100000001})", "\"latency_ns\" must be 0 or 100000 to 100000000"},
        {"", "empty (truncated?)"},
    };
    for (const auto& c : cases) {  // (no structured binding: clang < 16 cannot capture it in CAPTURE)
        const char* const text = c.first;
        const char* const message = c.second;
        CAPTURE(text);
        write_file(path, text);
        const auto loaded = load_persistent_state(path, defaults);
        CHECK_FALSE(loaded.loaded);
        CHECK(loaded.error.find(message) != std::string::npos);
        CHECK(loaded.error.find(path) != std::string::npos);
        CHECK(loaded.state.device_name == "default-name");
        CHECK(loaded.state.tx_channel_names == std::vector<std::string>{"A"});
    }
}

TEST_CASE("state store: optional keys may be absent") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    write_file(path, R"({"version": 1})");
    const auto loaded = load_persistent_state(path, {"default-name", {"A"}});
    CHECK(loaded.loaded);
    CHECK(loaded.state.device_name == "default-name");
    CHECK(loaded.state.tx_channel_names == std::vector<std::string>{"A"});
}

TEST_CASE("state store: saving into a missing directory reports the error") {
    TempDir dir;
    const std::string error = save_persistent_state((dir.path / "no" / "state.json").string(), {"x", {}});
    CHECK(error.find("cannot create") != std::string::npos);
}

TEST_CASE("state store: device state ↔ persistent state") {
    DeviceState device = control_test::make_state(3);
    device.tx_channels[1].user_name = "Guitar R";
    const PersistentState state = persistent_state_of(device);
    CHECK(state.device_name == "studio-pc");
    CHECK(state.tx_channel_names == std::vector<std::string>{"", "Guitar R", ""});

    DeviceState fresh = control_test::make_state(2);
    // Extra names are ignored; a clashing label is skipped; "" restores the factory name.
    apply_persistent_state(fresh, {"stage-left", {"02", "Guitar R", "Extra"}});
    CHECK(fresh.device_name == "stage-left");
    CHECK(fresh.tx_channels[0].user_name == "01");  // "02" is channel 2's factory name
    CHECK(fresh.tx_channels[1].user_name == "Guitar R");
    apply_persistent_state(fresh, {"", {"", ""}});
    CHECK(fresh.device_name == "stage-left");
    CHECK(fresh.tx_channels[1].user_name == "02");
}

TEST_CASE("state store: RX labels and subscriptions round-trip and apply to the channels the device has") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    DeviceState device;
    device.device_name = "rx-box";
    for (const char* name : {"01", "02", "03"}) device.rx_channels.push_back({name, name, {}, kRxStatusNone});
    device.rx_channels[1].user_name = "Vocal";
    device.rx_channels[0].subscription = {"01", "stage-box"};
    device.rx_channels[2].subscription = {"Guitar L", "stage-box"};
    const PersistentState persisted = persistent_state_of(device);
    CHECK(persisted.rx_channel_names == std::vector<std::string>{"", "Vocal", ""});
    REQUIRE(persisted.rx_subscriptions.size() == 2);
    CHECK(save_persistent_state(path, persisted) == "");
    const auto loaded = load_persistent_state(path);
    REQUIRE(loaded.loaded);
    CHECK(loaded.state.rx_subscriptions == persisted.rx_subscriptions);

    // A device restarted with only two RX channels: the third's subscription is not applied.
    DeviceState restarted;
    for (const char* name : {"01", "02"}) restarted.rx_channels.push_back({name, name, {}, kRxStatusNone});
    apply_persistent_state(restarted, loaded.state);
    CHECK(restarted.rx_channels[1].user_name == "Vocal");
    CHECK(restarted.rx_channels[0].subscription == RxSubscription{"01", "stage-box"});
    CHECK(restarted.rx_channels[1].subscription.empty());

    // Without RX labels or subscriptions the file has no RX keys at all.
    DeviceState plain;
    plain.rx_channels.push_back({"01", "01", {}, kRxStatusNone});
    CHECK(save_persistent_state(path, persistent_state_of(plain)) == "");
    const std::string text = read_all(path);
    CHECK_FALSE(contains(text, "rx_channel_names"));
    CHECK_FALSE(contains(text, "rx_subscriptions"));
}

TEST_CASE("state store: only RX subscriptions that differ from dante.rx.subscriptions are kept, removals too") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    DeviceState device;
    for (const char* name : {"01", "02", "03"}) device.rx_channels.push_back({name, name, {}, kRxStatusNone});
    const RxSubscription configured{"01", "stage-box"};
    for (RxChannel& channel : device.rx_channels) channel.subscription = channel.default_subscription = configured;
    CHECK(persistent_state_of(device).rx_subscriptions.empty());  // all as configured: nothing to keep
    CHECK(persistent_state_of(device).rx_unsubscribed.empty());
    device.rx_channels[0].subscription = {};                         // a controller removed it
    device.rx_channels[2].subscription = {"Guitar L", "amp-2"};      // and changed this one
    const PersistentState persisted = persistent_state_of(device);
    CHECK(persisted.rx_unsubscribed == std::vector<uint16_t>{1});
    REQUIRE(persisted.rx_subscriptions.size() == 1);
    CHECK(persisted.rx_subscriptions[0].rx_channel == 3);
    CHECK(save_persistent_state(path, persisted) == "");
    const auto loaded = load_persistent_state(path);
    REQUIRE(loaded.loaded);
    CHECK(loaded.state.rx_unsubscribed == std::vector<uint16_t>{1});

    // Restarted with the same config: the controller's changes win, channel 2 follows the config.
    DeviceState restarted;
    for (const char* name : {"01", "02", "03"}) restarted.rx_channels.push_back({name, name, {}, kRxStatusNone});
    for (RxChannel& channel : restarted.rx_channels) channel.subscription = channel.default_subscription = configured;
    apply_persistent_state(restarted, loaded.state);
    CHECK(restarted.rx_channels[0].subscription.empty());
    CHECK(restarted.rx_channels[1].subscription == configured);
    CHECK(restarted.rx_channels[2].subscription == RxSubscription{"Guitar L", "amp-2"});

    // A removal for a channel the device no longer has is ignored.
    DeviceState smaller;
    PersistentState removals;
    removals.rx_unsubscribed = {1, 64};
    apply_persistent_state(smaller, removals);
    CHECK(smaller.rx_channels.empty());
}

TEST_CASE("state store: a latency set over ARC 0x1101 is kept only while it differs from the configured one") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    DeviceState device = control_test::make_state(1);
    device.default_latency_ns = 4'000'000;
    device.latency_ns = 4'000'000;
    CHECK(persistent_state_of(device).latency_ns == 0);
    device.latency_ns = 2'000'000;
    const PersistentState state = persistent_state_of(device);
    CHECK(state.latency_ns == 2'000'000);
    CHECK(save_persistent_state(path, state) == "");
    const auto loaded = load_persistent_state(path);
    REQUIRE(loaded.loaded);
    CHECK(loaded.state.latency_ns == 2'000'000);

    DeviceState fresh = control_test::make_state(1);
    fresh.latency_ns = fresh.default_latency_ns = 4'000'000;
    apply_persistent_state(fresh, loaded.state);
    CHECK(fresh.latency_ns == 2'000'000);
    apply_persistent_state(fresh, {"", {}, 0});  // not set: unchanged
    CHECK(fresh.latency_ns == 2'000'000);

    // Absent from a file written before the key existed: not set.
    write_file(path, R"({"version": 1, "device_name": "x"})");
    CHECK(load_persistent_state(path).state.latency_ns == 0);
}

TEST_CASE("state store: truncated and garbage files fall back to the last good copy, saying so") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    REQUIRE(save_persistent_state(path, kGood) == "");
    CHECK_FALSE(fs::exists(backup_path_of(path)));  // nothing was replaced yet
    REQUIRE(save_persistent_state(path, kNewer) == "");
    REQUIRE(fs::exists(backup_path_of(path)));  // the replaced good file
    CHECK(load_persistent_state(backup_path_of(path)).state.device_name == "stage-left");
    const std::string good = read_all(path);

    const std::string garbage("\x00\xff\xfe{\"version\x01\x80\n\x1b[2J", 15);
    const std::pair<std::string, const char*> cases[] = {
        {good.substr(0, good.size() / 2), "not valid JSON (truncated or corrupt)"},
        {good.substr(0, good.size() - 3), "not valid JSON (truncated or corrupt)"},
        {"", "empty (truncated?)"},
        {garbage, "not valid JSON"},
        {std::string(4096, '\0'), "not valid JSON"},
        {"version=1\ndevice_name=x\n", "not valid JSON"},
        {R"({"version": 1, "device_name": "x", "tx_channel_names": {"1": "a"}})", "must be an array of strings"},
    };
    for (const auto& [text, message] : cases) {
        const char* expected = message;  // CAPTURE(message): clang 14 cannot capture a structured binding
        CAPTURE(expected);
        write_file(path, text);
        const auto loaded = load_persistent_state(path, kDefaults);
        CHECK(loaded.loaded);
        CHECK(loaded.from_backup);
        CHECK(contains(loaded.error, message));
        CHECK(contains(loaded.error, "state file " + path));
        CHECK(contains(loaded.error, "using the last good copy " + backup_path_of(path)));
        CHECK(loaded.state.device_name == "stage-left");
        CHECK(loaded.state.tx_channel_names == std::vector<std::string>{"", "Guitar R", "Vox"});
        CHECK(read_all(path) == text);  // loading never writes
    }

    // The last good copy bad too: the defaults, and both reasons.
    write_file(path, "{");
    write_file(backup_path_of(path), "[]");
    auto loaded = load_persistent_state(path, kDefaults);
    check_defaults(loaded);
    CHECK(contains(loaded.error, "not valid JSON"));
    CHECK(contains(loaded.error, "the last good copy " + backup_path_of(path) + " is bad too (not a JSON object)"));
    CHECK(contains(loaded.error, "keeping the defaults"));

    // No last good copy: the defaults.
    fs::remove(backup_path_of(path));
    loaded = load_persistent_state(path, kDefaults);
    check_defaults(loaded);
    CHECK(contains(loaded.error, "no last good copy; keeping the defaults"));

    // A good file is used as it is, whatever the copy holds.
    REQUIRE(save_persistent_state(path, kNewer) == "");
    write_file(backup_path_of(path), "junk");
    loaded = load_persistent_state(path, kDefaults);
    CHECK(loaded.loaded);
    CHECK_FALSE(loaded.from_backup);
    CHECK(loaded.error == "");
    CHECK(loaded.state.device_name == "stage-right");
}

TEST_CASE("state store: hostile values and shapes are rejected whole") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    const std::string long_name(100000, 'a');
    const std::pair<std::string, const char*> cases[] = {
        {R"({"version": 1, "device_name": ")" + std::string(32, 'a') + "\"}", "not a valid Dante device name"},
        {R"({"version": 1, "device_name": ")" + long_name + "\"}", "not a valid Dante device name"},
        {R"({"version": 1, "device_name": "a\u0000b"})", "not a valid Dante device name"},
        {R"({"version": 1, "device_name": "caf\u00e9"})", "not a valid Dante device name"},
        {R"({"version": 1, "device_name": null})", "\"device_name\" must be a string"},
        {R"({"version": 1, "device_name": ["x"]})", "\"device_name\" must be a string"},
        {R"({"version": 1, "device_name": {"x": 1}})", "\"device_name\" must be a string"},
        {R"({"version": 1, "tx_channel_names": [")" + std::string(32, 'L') + "\"]}", "is not a valid channel label"},
        {R"({"version": 1, "tx_channel_names": ["ok", "line\nbreak"]})", "\"tx_channel_names\"[1] is not a valid"},
        {R"({"version": 1, "tx_channel_names": ["tab\there"]})", "is not a valid channel label"},
        {R"({"version": 1, "tx_channel_names": [" lead"]})", "is not a valid channel label"},
        {R"({"version": 1, "tx_channel_names": [null]})", "\"tx_channel_names\"[0] must be a string"},
        {R"({"version": 1, "tx_channel_names": [["a"]]})", "\"tx_channel_names\"[0] must be a string"},
        {R"({"version": 1, "tx_channel_names": null})", "must be an array of strings"},
        {R"({"version": 1, "rx_channel_names": [1]})", "\"rx_channel_names\"[0] must be a string"},
        {R"({"version": 1, "rx_channel_names": ["a@b"]})", "is not a valid channel label"},
        {R"({"version": 1, "rx_subscriptions": {}})", "must be an array of at most 64 objects"},
        {R"({"version": 1, "rx_subscriptions": [{"rx": 0, "tx_channel": "01", "tx_device": "a"}]})",
         "\"rx\" must be an RX channel number"},
        {R"({"version": 1, "rx_subscriptions": [{"rx": 65, "tx_channel": "01", "tx_device": "a"}]})",
         "\"rx\" must be an RX channel number"},
        {R"({"version": 1, "rx_subscriptions": [{"rx": 1, "tx_channel": "01", "tx_device": "a"},
                                                {"rx": 1, "tx_channel": "02", "tx_device": "a"}]})",
         "appears twice"},
        {R"({"version": 1, "rx_subscriptions": [{"rx": 1, "tx_channel": "0=1", "tx_device": "a"}]})",
         "\"tx_channel\" must be a valid channel label"},
        {R"({"version": 1, "rx_subscriptions": [{"rx": 1, "tx_channel": "01", "tx_device": "-a"}]})",
         "\"tx_device\" must be a valid Dante device name"},
        {R"({"version": 1, "rx_subscriptions": [{"rx": 1, "tx_channel": "01"}]})",
         "\"tx_device\" must be a valid Dante device name"},
        {R"({"version": 1, "rx_unsubscribed": [0]})", "\"rx_unsubscribed\"[0] must be an RX channel number"},
        {R"({"version": 1, "rx_unsubscribed": ["1"]})", "must be an RX channel number"},
        {R"({"version": 1, "rx_unsubscribed": 1})", "\"rx_unsubscribed\" must be an array"},
        {R"({"version": 1.0})", "\"version\" must be 1"},
        {R"({"version": 1e400})", "not valid JSON"},
        {R"({"version": 18446744073709551617})", "\"version\" must be 1"},
        {R"({"version": true})", "\"version\" must be 1"},
        {"\"just a string\"", "not a JSON object"},
        {"42", "not a JSON object"},
        {"null", "not a JSON object"},
        {std::string(100000, '[') + std::string(100000, ']'), "not a JSON object"},  // deep, no stack overflow
        {std::string(200000, '['), "not valid JSON"},
        {"{\"version\": 1, \"device_name\": \"\xff\xfe\"}", "not valid JSON"},  // not UTF-8
        {"{\"version\": 1}" + std::string(1 << 20, ' '), "larger than 1 MiB"},
    };
    for (const auto& [text, message] : cases) {
        const char* expected = message;  // CAPTURE(message): clang 14 cannot capture a structured binding
        CAPTURE(expected);
        write_file(path, text);
        const auto loaded = load_persistent_state(path, kDefaults);
        check_defaults(loaded);
        CHECK(contains(loaded.error, message));
        CHECK(loaded.error.size() < 400);  // a hostile value is not copied whole into the log
    }

    // Trailing junk after a good object is not accepted either.
    write_file(path, R"({"version": 1, "device_name": "ok"} trailing)");
    check_defaults(load_persistent_state(path, kDefaults));

    // Many channel names are fine (extra ones are ignored when applied); unknown keys too.
    write_file(path, R"({"version": 1, "future": {"x": [1]}, "tx_channel_names": [)" +
                         [] {
                             std::string s;
                             for (int i = 0; i < 5000; ++i) s += std::string(i ? "," : "") + "\"c" + std::to_string(i) + "\"";
                             return s;
                         }() +
                         "]}");
    const auto loaded = load_persistent_state(path, kDefaults);
    CHECK(loaded.loaded);
    CHECK(loaded.state.tx_channel_names.size() == 5000);
    DeviceState device = control_test::make_state(2);
    apply_persistent_state(device, loaded.state);
    CHECK(device.tx_channels.size() == 2);
    CHECK(device.tx_channels[1].user_name == "c1");
}

TEST_CASE("state store: something other than a regular file in its place is refused, never waited on") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);  // open() of a FIFO without a writer would block
    auto loaded = load_persistent_state(path, kDefaults);
    check_defaults(loaded);
    CHECK(contains(loaded.error, "not a regular file"));
    fs::remove(path);

    fs::create_directory(path);
    loaded = load_persistent_state(path, kDefaults);
    check_defaults(loaded);
    CHECK(contains(loaded.error, "not a regular file"));
    const std::string error = save_persistent_state(path, kGood);
    CHECK(contains(error, "cannot rename over " + path));
    CHECK(fs::is_directory(path));
    CHECK_FALSE(fs::exists(path + ".tmp"));
}

TEST_CASE("state store: an unwritable place reports why and leaves nothing behind") {
    TempDir dir;
    // Root ignores permission bits, so: a directory that does not exist, and a "directory"
    // that is a file.
    std::string error = save_persistent_state((dir.path / "no" / "state.json").string(), kGood);
    CHECK(contains(error, "cannot create"));
    CHECK(contains(error, "No such file or directory"));

    write_file(dir.path / "file", "not a directory");
    error = save_persistent_state((dir.path / "file" / "state.json").string(), kGood);
    CHECK(contains(error, "cannot create"));
    CHECK(contains(error, "Not a directory"));
    CHECK(read_all(dir.path / "file") == "not a directory");
}

TEST_CASE("state store: a failed write (full disk, I/O error) leaves the old file intact") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    REQUIRE(save_persistent_state(path, kGood) == "");
    const std::string before = read_all(path);

    struct Case {
        const char* what;
        StateFileOps ops;
        const char* message;
    };
    StateFileOps enospc;
    enospc.write = write_enospc;
    StateFileOps partial;
    partial.write = write_some_then_enospc;
    StateFileOps stuck;
    stuck.write = write_nothing;
    StateFileOps eio;
    eio.fsync = fsync_eio;
    StateFileOps erofs;
    erofs.rename = rename_erofs;
    const Case cases[] = {
        {"write: ENOSPC", enospc, "cannot write"},
        {"a short write, then ENOSPC", partial, "cannot write"},
        {"write makes no progress", stuck, "cannot write"},
        {"fsync: EIO", eio, "cannot write"},
        {"rename: EROFS", erofs, "cannot rename over"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        g_writes = 0;
        const std::string error = save_persistent_state(path, kNewer, c.ops);
        CHECK(contains(error, c.message));
        CHECK(contains(error, path + " is left as it was"));
        CHECK(read_all(path) == before);  // byte for byte
        CHECK_FALSE(fs::exists(path + ".tmp"));
        const auto loaded = load_persistent_state(path, kDefaults);
        CHECK(loaded.loaded);
        CHECK(loaded.error == "");
        CHECK(loaded.state.device_name == "stage-left");
    }
    StateFileOps full;
    full.write = write_enospc;
    CHECK(contains(save_persistent_state(path, kNewer, full), "No space left on device"));
    CHECK(contains(save_persistent_state(path, kNewer, eio), "Input/output error"));

    // And the real calls work again afterwards.
    CHECK(save_persistent_state(path, kNewer) == "");
    CHECK(load_persistent_state(path).state.device_name == "stage-right");
}

TEST_CASE("state store: a stale temporary or a link in its place is not written through") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    write_file(dir.path / "victim", "keep me");
    fs::create_symlink(dir.path / "victim", path + ".tmp");
    CHECK(save_persistent_state(path, kGood) == "");
    CHECK(read_all(dir.path / "victim") == "keep me");
    CHECK(load_persistent_state(path).state.device_name == "stage-left");
    CHECK_FALSE(fs::exists(path + ".tmp"));
}

TEST_CASE("state store: saving over a bad file keeps it as .rejected, and the last good copy stays") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    REQUIRE(save_persistent_state(path, kGood) == "");
    REQUIRE(save_persistent_state(path, kGood) == "");  // .bak = kGood
    write_file(path, "{\"version\": 1, \"device_name\": ");
    const auto loaded = load_persistent_state(path, kDefaults);
    REQUIRE(loaded.from_backup);
    CHECK(save_persistent_state(path, kNewer) == "");
    CHECK(read_all(rejected_path_of(path)) == "{\"version\": 1, \"device_name\": ");
    CHECK(load_persistent_state(backup_path_of(path)).state.device_name == "stage-left");  // not the bad file
    CHECK(load_persistent_state(path).state.device_name == "stage-right");
}

TEST_CASE("state store: a really full disk (a tiny tmpfs in a private mount namespace)") {
    TempDir dir;
    const std::string path = (dir.path / "state.json").string();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Exit codes: 0 ok, 77 cannot mount here (not root), else the failed step.
        if (::unshare(CLONE_NEWNS) != 0) ::_exit(77);
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(77);
        if (::mount("tmpfs", dir.path.c_str(), "tmpfs", 0, "size=64k,mode=0700") != 0) ::_exit(77);
        if (save_persistent_state(path, kGood) != "") ::_exit(2);
        const std::string before = read_all(path);
        // Fill the file system to the last byte.
        const int fd = ::open((dir.path / "filler").c_str(), O_WRONLY | O_CREAT, 0600);
        if (fd < 0) ::_exit(3);
        const std::string block(4096, 'x');
        while (::write(fd, block.data(), block.size()) > 0) {
        }
        if (errno != ENOSPC) ::_exit(4);
        while (::write(fd, block.data(), 1) > 0) {
        }
        ::close(fd);
        const std::string error = save_persistent_state(path, kNewer);
        if (!contains(error, "No space left on device")) ::_exit(5);
        if (read_all(path) != before) ::_exit(6);
        if (fs::exists(path + ".tmp")) ::_exit(7);
        if (load_persistent_state(path).state.device_name != "stage-left") ::_exit(8);
        // Room again: the save goes through.
        fs::remove(dir.path / "filler");
        if (save_persistent_state(path, kNewer) != "") ::_exit(9);
        if (load_persistent_state(path).state.device_name != "stage-right") ::_exit(10);
        ::umount(dir.path.c_str());
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        MESSAGE("skipped: cannot mount a tmpfs in a private mount namespace here (not root?)");
        return;
    }
    CHECK(WEXITSTATUS(status) == 0);
}

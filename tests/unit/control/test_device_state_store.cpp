#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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
        {"", "not valid JSON"},
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

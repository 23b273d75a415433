#include "control/device_state_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "config/device_config.hpp"
#include "control/arc_server.hpp"
#include "control/names.hpp"

namespace dante::control {

namespace {

using Json = nlohmann::json;

constexpr int kFormatVersion = 1;
constexpr std::streamsize kMaxFileSize = 1 << 20;  // a real file is a few kB

StateLoadResult rejected(const std::string& path, const PersistentState& defaults, const std::string& why) {
    return {defaults, false, "state file " + path + ": " + why + "; keeping the defaults"};
}

std::string os_error(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

bool write_all(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

std::string directory_of(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

StateLoadResult load_persistent_state(const std::string& path, const PersistentState& defaults) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) return {defaults, false, ""};  // first run: nothing saved yet
        return rejected(path, defaults, std::string("cannot open (") + std::strerror(errno) + ")");
    }
    std::string text;
    text.reserve(4096);
    char chunk[4096];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text.append(chunk, static_cast<size_t>(in.gcount()));
        if (static_cast<std::streamsize>(text.size()) > kMaxFileSize) return rejected(path, defaults, "larger than 1 MiB");
    }

    const Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return rejected(path, defaults, "not valid JSON");
    if (!root.is_object()) return rejected(path, defaults, "not a JSON object");
    const auto version = root.find("version");
    if (version == root.end() || !version->is_number_integer() || version->get<int64_t>() != kFormatVersion)
        return rejected(path, defaults, "\"version\" must be 1");

    PersistentState state = defaults;
    if (const auto name = root.find("device_name"); name != root.end()) {
        if (!name->is_string()) return rejected(path, defaults, "\"device_name\" must be a string");
        const auto& value = name->get_ref<const std::string&>();
        if (!value.empty() && !dante::is_valid_device_name(value))
            return rejected(path, defaults,
                            "\"device_name\" \"" + value + "\" is not a valid Dante device name (1 to 31 letters, "
                            "digits or '-', not starting or ending with '-')");
        state.device_name = value;
    }
    if (const auto names = root.find("tx_channel_names"); names != root.end()) {
        if (!names->is_array()) return rejected(path, defaults, "\"tx_channel_names\" must be an array of strings");
        state.tx_channel_names.clear();
        for (size_t i = 0; i < names->size(); ++i) {
            const Json& item = (*names)[i];
            const std::string where = "\"tx_channel_names\"[" + std::to_string(i) + "]";
            if (!item.is_string()) return rejected(path, defaults, where + " must be a string");
            const auto& label = item.get_ref<const std::string&>();
            if (!label.empty() && !is_valid_channel_label(label))
                return rejected(path, defaults,
                                where + " is not a valid channel label (1 to 31 ASCII characters, none of = . @)");
            state.tx_channel_names.push_back(label);
        }
    }
    if (const auto latency = root.find("latency_ns"); latency != root.end()) {
        if (!latency->is_number_integer())
            return rejected(path, defaults, "\"latency_ns\" must be an integer");
        const int64_t value = latency->get<int64_t>();
        if (value != 0 && (value < kMinSettableLatencyNs || value > kMaxSettableLatencyNs))
            return rejected(path, defaults, "\"latency_ns\" must be 0 or 100000 to 100000000");
        state.latency_ns = value;
    }
    return {std::move(state), true, ""};
}

std::string save_persistent_state(const std::string& path, const PersistentState& state) {
    Json root = Json::object();
    root["version"] = kFormatVersion;
    root["device_name"] = state.device_name;
    root["tx_channel_names"] = state.tx_channel_names;
    if (state.latency_ns != 0) root["latency_ns"] = state.latency_ns;
    // `replace`: never throw on bytes that are not UTF-8 (the names are ASCII when they come
    // through the validated paths, but this function must not be the one to crash).
    const std::string text = root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";

    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return os_error("cannot create", temporary);
    if (!write_all(fd, text) || ::fsync(fd) != 0) {
        const std::string error = os_error("cannot write", temporary);
        ::close(fd);
        ::unlink(temporary.c_str());
        return error;
    }
    if (::close(fd) != 0) {
        const std::string error = os_error("cannot close", temporary);
        ::unlink(temporary.c_str());
        return error;
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const std::string error = os_error("cannot rename over", path);
        ::unlink(temporary.c_str());
        return error;
    }
    // Make the rename itself durable. Failure here is not worth reporting: the data is written.
    const std::string directory = directory_of(path);
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
    return "";
}

PersistentState persistent_state_of(const DeviceState& device) {
    PersistentState state;
    state.device_name = device.device_name;
    for (const TxChannel& channel : device.tx_channels)
        state.tx_channel_names.push_back(channel.user_name == channel.factory_name ? "" : channel.user_name);
    if (device.latency_ns != device.default_latency_ns) state.latency_ns = device.latency_ns;
    return state;
}

void apply_persistent_state(DeviceState& device, const PersistentState& state) {
    if (state.latency_ns >= kMinSettableLatencyNs && state.latency_ns <= kMaxSettableLatencyNs)
        device.latency_ns = state.latency_ns;
    if (!state.device_name.empty() && dante::is_valid_device_name(state.device_name))
        device.device_name = state.device_name;
    const size_t count = std::min(device.tx_channels.size(), state.tx_channel_names.size());
    for (size_t i = 0; i < count; ++i) {
        const std::string& label = state.tx_channel_names[i];
        if (label.empty()) {
            device.tx_channels[i].user_name = device.tx_channels[i].factory_name;
        } else if (is_valid_channel_label(label) && !label_taken_by_other_channel(device.tx_channels, i, label)) {
            device.tx_channels[i].user_name = label;
        }
    }
}

}  // namespace dante::control

#include "control/device_state_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "config/device_config.hpp"
#include "control/arc_server.hpp"
#include "control/names.hpp"

namespace dante::control {

namespace {

using Json = nlohmann::json;

constexpr int kFormatVersion = 1;
constexpr size_t kMaxFileSize = 1 << 20;  // a real file is a few kB

std::string os_error(const std::string& what, const std::string& path, int error) {
    return what + " " + path + ": " + std::strerror(error);
}

bool write_all(const StateFileOps& ops, int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ops.write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (n == 0) {  // no progress and no reason: as a full disk would say
            errno = ENOSPC;
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

// One file's verdict: its state, or why not (`missing` when it does not exist).
struct FileRead {
    bool missing = false;
    std::string error;  // empty: `state` is good
    PersistentState state;
};

// The whole file, at most kMaxFileSize bytes; a regular file only (a FIFO or a device in
// its place must not block or feed us forever).
bool read_file(const std::string& path, std::string& text, FileRead& out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT) {
            out.missing = true;
        } else {
            out.error = std::string("cannot open (") + std::strerror(errno) + ")";
        }
        return false;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        out.error = "not a regular file";
        ::close(fd);
        return false;
    }
    char chunk[4096];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            out.error = std::string("cannot read (") + std::strerror(errno) + ")";
            break;
        }
        if (n == 0) break;
        text.append(chunk, static_cast<size_t>(n));
        if (text.size() > kMaxFileSize) {
            out.error = "larger than 1 MiB";
            break;
        }
    }
    ::close(fd);
    return out.error.empty();
}

FileRead parse_state(const std::string& text, const PersistentState& defaults) {
    FileRead out;
    auto fail = [&](std::string why) {
        out.error = std::move(why);
        return out;
    };
    if (text.empty()) return fail("empty (truncated?)");
    const Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return fail("not valid JSON (truncated or corrupt)");
    if (!root.is_object()) return fail("not a JSON object");
    const auto version = root.find("version");
    if (version == root.end() || !version->is_number_integer() || version->get<int64_t>() != kFormatVersion)
        return fail("\"version\" must be 1");

    PersistentState state = defaults;
    if (const auto name = root.find("device_name"); name != root.end()) {
        if (!name->is_string()) return fail("\"device_name\" must be a string");
        const auto& value = name->get_ref<const std::string&>();
        if (!value.empty() && !dante::is_valid_device_name(value))
            return fail("\"device_name\" " + Json(value).dump(-1, ' ', true, Json::error_handler_t::replace).substr(0, 80) +
                        " is not a valid Dante device name (1 to 31 letters, digits or '-', not starting or ending "
                        "with '-')");
        state.device_name = value;
    }
    if (const auto names = root.find("tx_channel_names"); names != root.end()) {
        if (!names->is_array()) return fail("\"tx_channel_names\" must be an array of strings");
        state.tx_channel_names.clear();
        for (size_t i = 0; i < names->size(); ++i) {
            const Json& item = (*names)[i];
            const std::string where = "\"tx_channel_names\"[" + std::to_string(i) + "]";
            if (!item.is_string()) return fail(where + " must be a string");
            const auto& label = item.get_ref<const std::string&>();
            if (!label.empty() && !is_valid_channel_label(label))
                return fail(where + " is not a valid channel label (1 to 31 ASCII characters, none of = . @)");
            state.tx_channel_names.push_back(label);
        }
    }
    if (const auto latency = root.find("latency_ns"); latency != root.end()) {
        if (!latency->is_number_integer()) return fail("\"latency_ns\" must be an integer");
        const int64_t value = latency->get<int64_t>();
        if (value != 0 && (value < kMinSettableLatencyNs || value > kMaxSettableLatencyNs))
            return fail("\"latency_ns\" must be 0 or 100000 to 100000000");
        state.latency_ns = value;
    }
    if (const auto names = root.find("rx_channel_names"); names != root.end()) {
        if (!names->is_array() || names->size() > kMaxPersistedRxChannels)
            return fail("\"rx_channel_names\" must be an array of at most 64 strings");
        state.rx_channel_names.clear();
        for (size_t i = 0; i < names->size(); ++i) {
            const Json& item = (*names)[i];
            const std::string where = "\"rx_channel_names\"[" + std::to_string(i) + "]";
            if (!item.is_string()) return fail(where + " must be a string");
            const auto& label = item.get_ref<const std::string&>();
            if (!label.empty() && !is_valid_channel_label(label))
                return fail(where + " is not a valid channel label (1 to 31 ASCII characters, none of = . @)");
            state.rx_channel_names.push_back(label);
        }
    }
    if (const auto subs = root.find("rx_subscriptions"); subs != root.end()) {
        if (!subs->is_array() || subs->size() > kMaxPersistedRxChannels)
            return fail("\"rx_subscriptions\" must be an array of at most 64 objects");
        state.rx_subscriptions.clear();
        std::vector<bool> seen(kMaxPersistedRxChannels + 1, false);
        for (size_t i = 0; i < subs->size(); ++i) {
            const Json& item = (*subs)[i];
            const std::string where = "\"rx_subscriptions\"[" + std::to_string(i) + "]";
            if (!item.is_object()) return fail(where + " must be an object");
            const auto rx = item.find("rx");
            const auto channel = item.find("tx_channel");
            const auto device = item.find("tx_device");
            if (rx == item.end() || !rx->is_number_integer() || rx->get<int64_t>() < 1 ||
                rx->get<int64_t>() > static_cast<int64_t>(kMaxPersistedRxChannels))
                return fail(where + ": \"rx\" must be an RX channel number, 1 to 64");
            const auto number = static_cast<uint16_t>(rx->get<int64_t>());
            if (seen[number]) return fail(where + ": RX channel " + std::to_string(number) + " appears twice");
            seen[number] = true;
            if (channel == item.end() || !channel->is_string() ||
                !is_valid_channel_label(channel->get_ref<const std::string&>()))
                return fail(where + ": \"tx_channel\" must be a valid channel label");
            if (device == item.end() || !device->is_string() ||
                !dante::is_valid_device_name(device->get_ref<const std::string&>()))
                return fail(where + ": \"tx_device\" must be a valid Dante device name");
            state.rx_subscriptions.push_back(
                {number, {channel->get<std::string>(), device->get<std::string>()}});
        }
    }
    if (const auto removed = root.find("rx_unsubscribed"); removed != root.end()) {
        if (!removed->is_array() || removed->size() > kMaxPersistedRxChannels)
            return fail("\"rx_unsubscribed\" must be an array of at most 64 RX channel numbers");
        state.rx_unsubscribed.clear();
        for (size_t i = 0; i < removed->size(); ++i) {
            const Json& item = (*removed)[i];
            if (!item.is_number_integer() || item.get<int64_t>() < 1 ||
                item.get<int64_t>() > static_cast<int64_t>(kMaxPersistedRxChannels))
                return fail("\"rx_unsubscribed\"[" + std::to_string(i) + "] must be an RX channel number, 1 to 64");
            state.rx_unsubscribed.push_back(static_cast<uint16_t>(item.get<int64_t>()));
        }
    }
    out.state = std::move(state);
    return out;
}

FileRead load_file(const std::string& path, const PersistentState& defaults) {
    FileRead out;
    std::string text;
    if (!read_file(path, text, out)) return out;
    return parse_state(text, defaults);
}

// `to` becomes another name of `from`'s inode, replacing what `to` was, atomically
// (through a temporary link: link() does not replace).
bool link_over(const std::string& from, const std::string& to) {
    const std::string temporary = to + ".tmp";
    ::unlink(temporary.c_str());
    if (::link(from.c_str(), temporary.c_str()) != 0) return false;
    if (::rename(temporary.c_str(), to.c_str()) != 0) {
        ::unlink(temporary.c_str());
        return false;
    }
    return true;
}

}  // namespace

std::string backup_path_of(const std::string& path) { return path + ".bak"; }
std::string rejected_path_of(const std::string& path) { return path + ".rejected"; }

StateLoadResult load_persistent_state(const std::string& path, const PersistentState& defaults) {
    const FileRead main = load_file(path, defaults);
    if (main.missing) return {defaults, false, false, ""};  // first run: nothing saved yet
    if (main.error.empty()) return {main.state, true, false, ""};

    const std::string prefix = "state file " + path + ": " + main.error;
    const std::string backup = backup_path_of(path);
    const FileRead copy = load_file(backup, defaults);
    if (copy.error.empty() && !copy.missing)
        return {copy.state, true, true, prefix + "; using the last good copy " + backup};
    const std::string about_copy = copy.missing ? "no last good copy" : "the last good copy " + backup + " is bad too (" +
                                                                            copy.error + ")";
    return {defaults, false, false, prefix + "; " + about_copy + "; keeping the defaults"};
}

namespace {

std::string save_to(const std::string& path, const PersistentState& state, const StateFileOps& ops) {
    Json root = Json::object();
    root["version"] = kFormatVersion;
    root["device_name"] = state.device_name;
    root["tx_channel_names"] = state.tx_channel_names;
    if (state.latency_ns != 0) root["latency_ns"] = state.latency_ns;
    if (!state.rx_channel_names.empty()) root["rx_channel_names"] = state.rx_channel_names;
    if (!state.rx_subscriptions.empty()) {
        Json subs = Json::array();
        for (const PersistedSubscription& sub : state.rx_subscriptions)
            subs.push_back({{"rx", sub.rx_channel},
                            {"tx_channel", sub.subscription.tx_channel},
                            {"tx_device", sub.subscription.tx_device}});
        root["rx_subscriptions"] = std::move(subs);
    }
    if (!state.rx_unsubscribed.empty()) root["rx_unsubscribed"] = state.rx_unsubscribed;
    // `replace`: never throw on bytes that are not UTF-8 (the names are ASCII when they come
    // through the validated paths, but this function must not be the one to crash).
    const std::string text = root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";

    // A fresh temporary: a stale one (a crash mid-save) is removed, and O_EXCL|O_NOFOLLOW
    // make sure we write into a new file of ours, not through a link left in its place.
    const std::string temporary = path + ".tmp";
    ::unlink(temporary.c_str());
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return os_error("cannot create", temporary, errno);
    if (!write_all(ops, fd, text) || ops.fsync(fd) != 0) {
        const std::string error = os_error("cannot write", temporary, errno);
        ::close(fd);
        ::unlink(temporary.c_str());
        return error;
    }
    if (::close(fd) != 0) {
        const std::string error = os_error("cannot close", temporary, errno);
        ::unlink(temporary.c_str());
        return error;
    }

    // Keep what is being replaced: a good file as the last good copy, a bad one (that the
    // load refused) for whoever wants to see what was wrong with it. Best effort: a failure
    // here leaves the previous .bak, and the save goes on (the new state is good).
    if (const FileRead current = load_file(path, {}); !current.missing) {
        if (current.error.empty())
            link_over(path, backup_path_of(path));
        else
            link_over(path, rejected_path_of(path));
    }

    if (ops.rename(temporary.c_str(), path.c_str()) != 0) {
        const std::string error = os_error("cannot rename over", path, errno);
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

}  // namespace

std::string save_persistent_state(const std::string& path, const PersistentState& state, const StateFileOps& ops) {
    std::string error = save_to(path, state, ops);
    if (!error.empty()) error += "; " + path + " is left as it was";
    return error;
}

PersistentState persistent_state_of(const DeviceState& device) {
    PersistentState state;
    state.device_name = device.device_name;
    for (const TxChannel& channel : device.tx_channels)
        state.tx_channel_names.push_back(channel.user_name == channel.factory_name ? "" : channel.user_name);
    if (device.latency_ns != device.default_latency_ns) state.latency_ns = device.latency_ns;
    bool any_rx_label = false;
    for (const RxChannel& channel : device.rx_channels) {
        const bool renamed = channel.user_name != channel.factory_name;
        any_rx_label = any_rx_label || renamed;
        state.rx_channel_names.push_back(renamed ? channel.user_name : "");
    }
    if (!any_rx_label) state.rx_channel_names.clear();
    // Only what differs from dante.rx.subscriptions: a controller's change wins for that
    // channel, and a channel it never touched follows the config.
    for (size_t i = 0; i < device.rx_channels.size() && i < kMaxPersistedRxChannels; ++i) {
        const RxChannel& channel = device.rx_channels[i];
        if (channel.subscription == channel.default_subscription) continue;
        const auto number = static_cast<uint16_t>(i + 1);
        if (channel.subscription.empty())
            state.rx_unsubscribed.push_back(number);
        else
            state.rx_subscriptions.push_back({number, channel.subscription});
    }
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
    // RX labels and subscriptions for the channels this device has (a file written with
    // more RX channels keeps the rest to itself until they come back).
    for (size_t i = 0; i < device.rx_channels.size() && i < state.rx_channel_names.size(); ++i) {
        const std::string& label = state.rx_channel_names[i];
        RxChannel& channel = device.rx_channels[i];
        channel.user_name = !label.empty() && is_valid_channel_label(label) ? label : channel.factory_name;
    }
    for (const uint16_t rx : state.rx_unsubscribed)
        if (rx >= 1 && rx <= device.rx_channels.size()) device.rx_channels[rx - 1u].subscription = {};
    for (const PersistedSubscription& sub : state.rx_subscriptions) {
        if (sub.rx_channel < 1 || sub.rx_channel > device.rx_channels.size()) continue;
        if (!is_valid_channel_label(sub.subscription.tx_channel) || !dante::is_valid_device_name(sub.subscription.tx_device))
            continue;
        device.rx_channels[sub.rx_channel - 1u].subscription = sub.subscription;
    }
}

}  // namespace dante::control

// The quarantine: one file per message in a Maildir, written so that a crash or a full disk at
// any moment leaves either a complete file in new/ or none (then the MTA keeps the message).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "relaygate/relay.hpp"

namespace relaygate::relay {

namespace {

constexpr mode_t maildir_mode = 0700;  // quarantined mail is for the administrator only
constexpr mode_t message_mode = 0600;
constexpr std::size_t max_host_name_bytes = 255;

// "cannot VERB PATH: strerror" from errno.
std::string os_error(std::string_view verb, const std::string& path) {
    return "cannot " + std::string(verb) + " " + path + ": " + std::strerror(errno);
}

// Creates `path` as a directory unless it already is one; "" or the error.
std::string make_directory(const std::string& path) {
    if (mkdir(path.c_str(), maildir_mode) == 0 || errno == EEXIST) {
        struct stat info {};
        if (stat(path.c_str(), &info) != 0) return os_error("create", path);
        if (!S_ISDIR(info.st_mode)) return "cannot use " + path + ": not a directory";
        return "";
    }
    return os_error("create", path);
}

// Flushes a directory's entries (a rename or a new subdirectory) to disk; "" or the error.
std::string sync_directory(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return os_error("open", path);
    int rc = fsync(fd);
    auto error = rc == 0 ? std::string() : os_error("sync", path);
    close(fd);
    return error;
}

// The host part of a Maildir name, with "/" and ":" written as the spec asks (\057, \072).
std::string maildir_host() {
    char name[max_host_name_bytes + 1] = {};
    if (gethostname(name, max_host_name_bytes) != 0 || name[0] == '\0') return "localhost";
    std::string out;
    for (const char* p = name; *p; ++p) {
        if (*p == '/') {
            out += "\\057";
        } else if (*p == ':') {
            out += "\\072";
        } else {
            out += *p;
        }
    }
    return out;
}

// A name unique across processes and hosts: seconds, then microseconds, pid, a per-process
// counter and random bits (Maildir's "M", "P", "Q" and "R" parts), then the host.
std::string unique_name() {
    static std::atomic<unsigned> counter{0};
    timeval now{};
    gettimeofday(&now, nullptr);
    std::random_device random;
    char text[128];
    std::snprintf(text, sizeof text, "%lld.M%ldP%ldQ%uR%08x.", static_cast<long long>(now.tv_sec),
                  static_cast<long>(now.tv_usec), static_cast<long>(getpid()), ++counter,
                  static_cast<unsigned>(random()));
    return text + maildir_host();
}

// Writes all of `data` to `fd` and makes it durable; "" or the error.
std::string write_durably(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t written = write(fd, data.data(), data.size());
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return os_error("write", path);
        data.remove_prefix(static_cast<std::size_t>(written));
    }
    if (fsync(fd) != 0) return os_error("sync", path);
    return "";
}

// The tmp/ file written and synced; "" or the error, with nothing left behind on error.
std::string write_tmp_file(const std::string& tmp_path, std::string_view message) {
    int fd = open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, message_mode);
    if (fd < 0) return os_error("create", tmp_path);
    auto error = write_durably(fd, message, tmp_path);
    // close() can be the first to report a failed write (NFS, quotas).
    if (close(fd) != 0 && error.empty()) error = os_error("close", tmp_path);
    if (!error.empty()) unlink(tmp_path.c_str());
    return error;
}

}  // namespace

QuarantineResult write_to_maildir(const std::string& dir, std::string_view message) {
    QuarantineResult result;
    if (dir.empty()) {
        result.error = "no quarantine directory configured";
        return result;
    }

    for (const auto& path : {dir, dir + "/tmp", dir + "/new", dir + "/cur"}) {
        result.error = make_directory(path);
        if (!result.error.empty()) return result;
    }

    auto name = unique_name();
    auto tmp_path = dir + "/tmp/" + name;
    auto new_path = dir + "/new/" + name;
    result.error = write_tmp_file(tmp_path, message);
    if (!result.error.empty()) return result;

    // RENAME_NOREPLACE: never overwrite a file that somehow has the same name.
    if (renameat2(AT_FDCWD, tmp_path.c_str(), AT_FDCWD, new_path.c_str(), RENAME_NOREPLACE) != 0) {
        result.error = os_error("move into new/", tmp_path);
        unlink(tmp_path.c_str());
        return result;
    }
    result.error = sync_directory(dir + "/new");
    if (!result.error.empty()) {
        // Not durable, so not acknowledged: the MTA retries, and a copy here would be a dup.
        unlink(new_path.c_str());
        return result;
    }

    result.stored = true;
    result.path = new_path;
    return result;
}

}  // namespace relaygate::relay

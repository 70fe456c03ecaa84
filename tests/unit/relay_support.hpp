// Test support for the relay module: scratch directories, the aiosmtpd sink of tests/smtp
// started as a child process on 127.0.0.1 and killed by its PID, and small file helpers.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace relaygate::relay::testing {

inline const std::string python = "/usr/bin/python3";  // Debian's: it has aiosmtpd and dkim
inline const std::string smtp_dir = std::string(RELAYGATE_SOURCE_DIR) + "/tests/smtp";
constexpr auto server_start_limit = std::chrono::seconds(15);

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "relaygate-XXXXXX");
        if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temp dir");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline void write_file(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary);
    out << content;
}

// Files directly in `dir` (none when it does not exist).
inline std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        names.push_back(entry.path().filename().string());
    }
    return names;
}

// Runs a shell command; its exit status.
inline int shell(const std::string& command) {
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// True once something accepts TCP connections on 127.0.0.1:port.
inline bool port_open(unsigned port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool open = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    close(fd);
    return open;
}

// tests/smtp/sink.py in one mode on one port; messages it acknowledges land in out_dir.
class SinkServer {
public:
    SinkServer(unsigned port, const std::string& mode, const std::string& out_dir,
               std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {python, smtp_dir + "/sink.py", "--port",
                                         std::to_string(port), "--mode", mode, "--out", out_dir,
                                         "--lifetime", "120"};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("cannot fork the SMTP sink");
        if (pid_ == 0) {
            std::vector<char*> argv;
            for (auto& arg : args) argv.push_back(arg.data());
            argv.push_back(nullptr);
            execv(python.c_str(), argv.data());
            _exit(127);
        }
        wait_until_listening(port);
    }
    ~SinkServer() {
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
    }
    SinkServer(const SinkServer&) = delete;
    SinkServer& operator=(const SinkServer&) = delete;

private:
    void wait_until_listening(unsigned port) {
        auto limit = std::chrono::steady_clock::now() + server_start_limit;
        while (std::chrono::steady_clock::now() < limit) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                throw std::runtime_error("the SMTP sink exited at start (port " +
                                         std::to_string(port) + " taken?)");
            }
            if (port_open(port)) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
        throw std::runtime_error("the SMTP sink did not listen on " + std::to_string(port));
    }

    pid_t pid_ = -1;
};

}  // namespace relaygate::relay::testing

// Process plumbing for the end-to-end tests.
#include "e2e/run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace relaygate::e2e {
namespace {

struct Pipe {
    int fds[2] = {-1, -1};
    Pipe()
    {
        if (pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe failed");
    }
};

std::vector<std::string> made_dirs;
pid_t dns_pid = 0;

void cleanup()
{
    if (dns_pid > 0)
        kill(dns_pid, SIGTERM);
    for (const auto& dir : made_dirs)
        std::filesystem::remove_all(dir);
}

// Shuttles stdin out and stdout/stderr in until the child closes them or time runs out.
void pump(int in_fd, int out_fd, int err_fd, const std::string& input, Run& run,
          std::chrono::steady_clock::time_point deadline)
{
    std::size_t written = 0;
    if (input.empty()) {
        close(in_fd);
        in_fd = -1;
    }
    char buffer[65536];
    while (out_fd >= 0 || err_fd >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
        if (poll(fds, 3, static_cast<int>(left.count())) <= 0)
            continue;
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                (i == 0 ? run.out : run.err).append(buffer, static_cast<std::size_t>(n));
            } else {
                close(fds[i].fd);
                (i == 0 ? out_fd : err_fd) = -1;
            }
        }
        if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(in_fd, input.data() + written, input.size() - written);
            if (n > 0)
                written += static_cast<std::size_t>(n);
            if (n <= 0 || written == input.size()) {
                close(in_fd);
                in_fd = -1;
            }
        }
    }
    for (int fd : {in_fd, out_fd, err_fd}) {
        if (fd >= 0)
            close(fd);
    }
}

}  // namespace

Run run_relaygate(const std::vector<std::string>& args, const std::string& input,
                  int timeout_seconds)
{
    signal(SIGPIPE, SIG_IGN);
    Pipe in, out, err;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.fds[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out.fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err.fds[1], 2);

    std::vector<std::string> argv_strings{RELAYGATE_BINARY};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_strings)
        argv.push_back(arg.data());
    argv.push_back(nullptr);

    pid_t pid = 0;
    int spawned = posix_spawn(&pid, RELAYGATE_BINARY, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in.fds[0]);
    close(out.fds[1]);
    close(err.fds[1]);
    if (spawned != 0)
        throw std::runtime_error("cannot start " RELAYGATE_BINARY);

    Run run;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    pump(in.fds[1], out.fds[0], err.fds[0], input, run, deadline);
    if (std::chrono::steady_clock::now() >= deadline)
        kill(pid, SIGKILL);

    int status = 0;
    waitpid(pid, &status, 0);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return run;
}

std::string source_path(const std::string& relative)
{
    return std::string(RELAYGATE_SOURCE_DIR) + "/" + relative;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

std::string temp_dir()
{
    std::string pattern = (std::filesystem::temp_directory_path() / "relaygate-e2e-XXXXXX");
    if (!mkdtemp(pattern.data()))
        throw std::runtime_error("mkdtemp failed");
    if (made_dirs.empty())
        std::atexit(cleanup);
    made_dirs.push_back(pattern);
    return pattern;
}

std::string live_dns_server()
{
    static std::string server = [] {
        if (const char* given = std::getenv("RELAYGATE_TEST_DNS"); given && *given)
            return std::string(given);

        std::string work = temp_dir();
        std::string port = std::to_string(15360 + getpid() % 30);
        std::string command = source_path("scripts/start-dns.sh") + " " +
                              source_path("samples/dns.zone") + " " + port + " " + work;
        FILE* started = popen(command.c_str(), "r");
        char pid_text[32] = {};
        if (!started || !fgets(pid_text, sizeof pid_text, started) || pclose(started) != 0)
            throw std::runtime_error("cannot start unbound: " + command);
        dns_pid = static_cast<pid_t>(std::atoi(pid_text));
        return "127.0.0.1:" + port;
    }();
    return server;
}

}  // namespace relaygate::e2e

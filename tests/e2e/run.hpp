// Running the built relaygate binary as a user would: arguments, standard input, and what it
// printed and returned.
#pragma once

#include <string>
#include <vector>

namespace relaygate::e2e {

struct Run {
    int status = -1;  // exit status, or 128 + signal
    std::string out;
    std::string err;
};

// Runs RELAYGATE_BINARY with args, feeding input on stdin; stops it after timeout_seconds.
Run run_relaygate(const std::vector<std::string>& args, const std::string& input = "",
                  int timeout_seconds = 60);

std::string source_path(const std::string& relative);  // under the checkout
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);
std::string temp_dir();  // a fresh directory, removed at exit

// 127.0.0.1:PORT of a DNS server serving samples/dns.zone: RELAYGATE_TEST_DNS when set (as
// scripts/test.sh does), else an unbound this process starts with scripts/start-dns.sh.
std::string live_dns_server();

}  // namespace relaygate::e2e

// The live resolver against a real unbound on 127.0.0.1, a silent UDP port and a fake server.
#include <catch2/catch.hpp>

#include "dns_test_support.hpp"
#include "relaygate/dns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

using namespace relaygate::dns;
using namespace std::chrono_literals;
using dns_test::data_file;
using dns_test::ScratchDir;

namespace {

// Ports this test file may use (the dns module's range is 15300-15349).
constexpr int kFirstUnboundPort = 15300;
constexpr int kLastUnboundPort = 15319;
constexpr int kFirstSilentPort = 15330;
constexpr int kLastSilentPort = 15349;
// Ports of the refused-port and circuit-breaker tests.
constexpr int kFirstBreakerPort = 15470;
constexpr int kLastBreakerPort = 15489;

// unbound gets killed by `timeout` after this even if the test process dies first.
constexpr int kUnboundLifetimeSeconds = 300;

const char* const kUnboundPath = "/usr/sbin/unbound";

// unbound serving live.zone and reverse.zone on 127.0.0.1, for the whole test process.
// Everything outside those zones is refused, so that unbound never asks the internet.
class Unbound {
public:
    static Unbound* instance()
    {
        static std::unique_ptr<Unbound> server = start_on_free_port();
        return server.get();
    }

    ~Unbound()
    {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }

    int port() const { return port_; }

    LiveOptions options() const
    {
        LiveOptions options;
        options.server = "127.0.0.1";
        options.port = static_cast<std::uint16_t>(port_);
        options.timeout = 2000ms;
        return options;
    }

private:
    Unbound(pid_t pid, int port, std::unique_ptr<ScratchDir> dir)
        : pid_(pid), port_(port), dir_(std::move(dir))
    {
    }

    static std::unique_ptr<Unbound> start_on_free_port()
    {
        // A port another test process holds makes unbound exit at once: try the next one.
        for (int port = kFirstUnboundPort; port <= kLastUnboundPort; ++port) {
            bool exited = false;
            if (auto server = start(port, exited)) {
                return server;
            }
            if (!exited) {
                return nullptr;
            }
        }
        return nullptr;
    }

    static std::string config(const ScratchDir& dir, int port)
    {
        std::string text = "server:\n"
                           "  interface: 127.0.0.1\n"
                           "  port: " + std::to_string(port) + "\n"
                           "  do-ip6: no\n"
                           "  do-daemonize: no\n"
                           "  username: \"\"\n"
                           "  chroot: \"\"\n"
                           "  directory: \"" + dir.file("") + "\"\n"
                           "  pidfile: \"" + dir.file("unbound.pid") + "\"\n"
                           "  use-syslog: no\n"
                           "  logfile: \"\"\n"
                           "  verbosity: 0\n"
                           "  access-control: 127.0.0.0/8 allow\n"
                           "  module-config: \"iterator\"\n"
                           "  local-zone: \".\" refuse\n"
                           "  local-zone: \"live.test.\" transparent\n"
                           "  local-zone: \"refused.live.test.\" refuse\n"
                           "  local-zone: \"2.0.192.in-addr.arpa.\" transparent\n";
        for (const char* zone : {"live.test.", "2.0.192.in-addr.arpa."}) {
            std::string file = std::string(zone) == "live.test." ? "live.zone" : "reverse.zone";
            text += "auth-zone:\n  name: \"" + std::string(zone) + "\"\n  zonefile: \"" +
                    data_file(file) + "\"\n  for-downstream: yes\n  for-upstream: yes\n"
                    "  fallback-enabled: no\n";
        }
        text += "remote-control:\n  control-enable: no\n";
        return text;
    }

    // Starts unbound on port and waits until it answers; nullptr with exited set if it exits.
    static std::unique_ptr<Unbound> start(int port, bool& exited)
    {
        auto dir = std::make_unique<ScratchDir>();
        std::string conf = dir->write("unbound.conf", config(*dir, port));
        pid_t pid = ::fork();
        if (pid == 0) {
            // unbound logs its start and stop to stderr: keep the test output clean.
            int log = ::open(dir->file("unbound.log").c_str(), O_WRONLY | O_CREAT, 0600);
            if (log >= 0) {
                ::dup2(log, STDERR_FILENO);
            }
            std::string lifetime = std::to_string(kUnboundLifetimeSeconds);
            ::execlp("timeout", "timeout", lifetime.c_str(), kUnboundPath, "-c", conf.c_str(),
                     static_cast<char*>(nullptr));
            ::_exit(127);
        }
        std::unique_ptr<Unbound> server(new Unbound(pid, port, std::move(dir)));

        LiveOptions probe = server->options();
        probe.timeout = 100ms;
        probe.retries = 0;
        probe.breaker_failures = 0;  // refused until unbound listens: keep asking
        auto resolver = make_live_resolver(probe);
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                server->pid_ = -1;
                exited = true;
                return nullptr;
            }
            if (resolver->lookup("live.test", RecordType::soa).ok()) {
                return server;
            }
            std::this_thread::sleep_for(50ms);
        }
        return nullptr;
    }

    pid_t pid_;
    int port_;
    std::unique_ptr<ScratchDir> dir_;
};

// A UDP socket bound on 127.0.0.1 (the first free port of the range) that never reads:
// queries to it time out.
class SilentPort {
public:
    explicit SilentPort(int first_port = kFirstSilentPort, int last_port = kLastSilentPort)
    {
        for (int port = first_port; port <= last_port && port_ == 0; ++port) {
            fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(static_cast<std::uint16_t>(port));
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
                port_ = port;
            } else {
                ::close(fd_);
                fd_ = -1;
            }
        }
    }
    ~SilentPort()
    {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    SilentPort(const SilentPort&) = delete;
    SilentPort& operator=(const SilentPort&) = delete;

    int fd() const { return fd_; }
    int port() const { return port_; }

    // How many queries have arrived and not been read yet; reads them.
    int take_queries()
    {
        unsigned char packet[512];
        int count = 0;
        while (::recv(fd_, packet, sizeof packet, MSG_DONTWAIT) >= 0) {
            ++count;
        }
        return count;
    }

protected:
    int fd_ = -1;
    int port_ = 0;
};

// A UDP server on 127.0.0.1 that answers every query with the given RCODE (and no records).
class RcodeServer : public SilentPort {
public:
    explicit RcodeServer(int rcode, int first_port = kFirstSilentPort,
                         int last_port = kLastSilentPort)
        : SilentPort(first_port, last_port), thread_([this, rcode]() { serve(rcode); })
    {
    }
    ~RcodeServer()
    {
        stop_ = true;
        thread_.join();
    }

private:
    void serve(int rcode)
    {
        timeval tick{0, 50000};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
        unsigned char packet[512];
        while (!stop_) {
            sockaddr_in peer{};
            socklen_t peer_size = sizeof peer;
            ssize_t size = ::recvfrom(fd_, packet, sizeof packet, 0,
                                      reinterpret_cast<sockaddr*>(&peer), &peer_size);
            if (size < 12) {
                continue;
            }
            // The header and question come back with QR set, the RCODE asked, no records.
            std::size_t reply_size = question_end(packet, static_cast<std::size_t>(size));
            if (reply_size == 0) {
                continue;
            }
            packet[2] |= 0x80;
            packet[3] = static_cast<unsigned char>((packet[3] & 0xf0) | rcode);
            std::memset(packet + 6, 0, 6);
            ::sendto(fd_, packet, reply_size, 0, reinterpret_cast<sockaddr*>(&peer), peer_size);
        }
    }

    // Where the question of a query ends (header, QNAME labels, QTYPE, QCLASS); 0 if cut off.
    static std::size_t question_end(const unsigned char* packet, std::size_t size)
    {
        std::size_t at = 12;
        while (at < size && packet[at] != 0) {
            at += packet[at] + 1u;
        }
        at += 1 + 4;
        return at <= size ? at : 0;
    }

    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A port of the breaker range where nothing listens: queries to it are refused.
int unused_port()
{
    SilentPort probe(kFirstBreakerPort, kLastBreakerPort);
    return probe.port();
}

LiveOptions local_options(int port)
{
    LiveOptions options;
    options.server = "127.0.0.1";
    options.port = static_cast<std::uint16_t>(port);
    return options;
}

std::chrono::milliseconds time_lookup(Resolver& resolver, Answer& answer,
                                      const std::string& name = "example.test")
{
    auto start = std::chrono::steady_clock::now();
    answer = resolver.lookup(name, RecordType::a);
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
}

std::string down_detail(int port, int failures, const std::string& when)
{
    return "resolver 127.0.0.1:" + std::to_string(port) + " unreachable (" +
           std::to_string(failures) + " consecutive failures), " + when;
}

// Skips the test when unbound is not installed; fails it when unbound is there but won't run.
#define REQUIRE_UNBOUND(server)                                                    \
    if (!std::filesystem::exists(kUnboundPath)) {                                  \
        WARN("unbound is not installed: live test skipped");                       \
        return;                                                                    \
    }                                                                              \
    Unbound* server = Unbound::instance();                                         \
    REQUIRE(server != nullptr)

}  // namespace

TEST_CASE("live lookups answer A, AAAA, MX, TXT and PTR from a real server", "[dns]")
{
    REQUIRE_UNBOUND(server);
    auto live = make_live_resolver(server->options());

    Answer a = live->lookup("live.test", RecordType::a);
    CHECK(a.outcome == Outcome::found);
    CHECK(a.records == std::vector<std::string>{"192.0.2.1"});
    CHECK(a.ttl > 0);
    CHECK(a.ttl <= 300);

    CHECK(live->lookup("live.test", RecordType::aaaa).records ==
          std::vector<std::string>{"2001:db8::1"});

    auto mx = live->lookup("LIVE.test.", RecordType::mx).records;
    std::sort(mx.begin(), mx.end());
    CHECK(mx == std::vector<std::string>{"10 mx1.live.test", "20 mx2.live.test"});

    auto txt = live->lookup("live.test", RecordType::txt).records;
    std::sort(txt.begin(), txt.end());
    CHECK(txt == std::vector<std::string>{"unrelated=1",
                                          "v=spf1 ip4:192.0.2.0/24 include:_spf.live.test -all"});

    CHECK(live->lookup("raw.live.test", RecordType::txt).records ==
          std::vector<std::string>{"tab\tquote\"semi;colon\xff"});

    auto ptr_name = reverse_name("192.0.2.1");
    REQUIRE(ptr_name);
    CHECK(live->lookup(*ptr_name, RecordType::ptr).records ==
          std::vector<std::string>{"live.test"});
}

TEST_CASE("live lookups follow CNAME chains of the answer section", "[dns]")
{
    REQUIRE_UNBOUND(server);
    auto live = make_live_resolver(server->options());

    Answer chained = live->lookup("alias.live.test", RecordType::a);
    CHECK(chained.outcome == Outcome::found);
    CHECK(chained.records == std::vector<std::string>{"192.0.2.25"});
    CHECK(chained.ttl <= 120);

    CHECK(live->lookup("alias.live.test", RecordType::cname).records ==
          std::vector<std::string>{"alias2.live.test"});
    CHECK(live->lookup("alias.live.test", RecordType::txt).outcome == Outcome::nodata);
}

TEST_CASE("live NXDOMAIN and NODATA carry the negative TTL of the authority SOA", "[dns]")
{
    REQUIRE_UNBOUND(server);
    auto live = make_live_resolver(server->options());

    Answer missing = live->lookup("nope.live.test", RecordType::a);
    CHECK(missing.outcome == Outcome::nxdomain);
    CHECK(missing.ttl > 0);
    CHECK(missing.ttl <= 60);  // min(SOA TTL 300, MINIMUM 60)
    CHECK(missing.zone == std::optional<std::string>("live.test"));

    Answer nodata = live->lookup("mx1.live.test", RecordType::txt);
    CHECK(nodata.outcome == Outcome::nodata);
    CHECK(nodata.ttl <= 60);

    CHECK(live->lookup("ent.live.test", RecordType::a).outcome == Outcome::nodata);
}

TEST_CASE("a live answer too big for UDP is fetched again over TCP", "[dns]")
{
    REQUIRE_UNBOUND(server);
    auto live = make_live_resolver(server->options());

    Answer big = live->lookup("big.live.test", RecordType::txt);
    REQUIRE(big.outcome == Outcome::found);
    REQUIRE(big.records.size() == 6);
    for (const std::string& record : big.records) {
        CHECK(record.size() == 765);
    }
}

TEST_CASE("the live and zone resolvers give the same answers for the same zone", "[dns]")
{
    REQUIRE_UNBOUND(server);
    auto live = make_live_resolver(server->options());
    auto zone = make_zone_resolver({data_file("live.zone"), data_file("reverse.zone")});

    const std::vector<std::pair<std::string, RecordType>> questions = {
        {"live.test", RecordType::a},       {"live.test", RecordType::mx},
        {"live.test", RecordType::txt},     {"raw.live.test", RecordType::txt},
        {"alias.live.test", RecordType::a}, {"alias.live.test", RecordType::cname},
        {"nope.live.test", RecordType::a},  {"mx1.live.test", RecordType::aaaa},
        {"ent.live.test", RecordType::a},   {"x.y.wild.live.test", RecordType::txt},
        {"x.wild.live.test", RecordType::a}, {"1.2.0.192.in-addr.arpa", RecordType::ptr},
        {"big.live.test", RecordType::txt},
    };
    for (const auto& [name, type] : questions) {
        INFO(name << " " << to_string(type));
        Answer want = zone->lookup(name, type);
        Answer got = live->lookup(name, type);
        CHECK(to_string(got.outcome) == to_string(want.outcome));
        std::sort(got.records.begin(), got.records.end());
        std::sort(want.records.begin(), want.records.end());
        CHECK(got.records == want.records);
        CHECK(got.ttl <= want.ttl);
        CHECK(got.zone == want.zone);
    }
}

TEST_CASE("REFUSED from the server is a temperror naming it", "[dns]")
{
    REQUIRE_UNBOUND(server);
    auto live = make_live_resolver(server->options());

    Answer refused = live->lookup("x.refused.live.test", RecordType::a);
    CHECK(refused.outcome == Outcome::temperror);
    CHECK(refused.detail == "REFUSED from 127.0.0.1:" + std::to_string(server->port()));
}

TEST_CASE("SERVFAIL from the server is a temperror, never a negative answer", "[dns]")
{
    RcodeServer servfail(2);
    REQUIRE(servfail.port() != 0);
    LiveOptions options;
    options.server = "127.0.0.1";
    options.port = static_cast<std::uint16_t>(servfail.port());
    auto live = make_live_resolver(options);

    Answer answer = live->lookup("example.test", RecordType::txt);
    CHECK(answer.outcome == Outcome::temperror);
    CHECK(answer.detail == "SERVFAIL from 127.0.0.1:" + std::to_string(servfail.port()));
}

TEST_CASE("a server that never answers gives a temperror within timeout times tries", "[dns]")
{
    SilentPort silent;
    REQUIRE(silent.port() != 0);
    LiveOptions options;
    options.server = "127.0.0.1";
    options.port = static_cast<std::uint16_t>(silent.port());
    options.timeout = 200ms;
    options.retries = 1;
    auto live = make_live_resolver(options);

    auto start = std::chrono::steady_clock::now();
    Answer answer = live->lookup("example.test", RecordType::a);
    auto elapsed = std::chrono::steady_clock::now() - start;

    CHECK(answer.outcome == Outcome::temperror);
    CHECK_THAT(answer.detail, Catch::StartsWith("timeout after "));
    CHECK_THAT(answer.detail, Catch::EndsWith(
                                  "(2 tries) asking 127.0.0.1:" + std::to_string(silent.port())));
    CHECK(elapsed >= 380ms);
    CHECK(elapsed < 1500ms);
}

TEST_CASE("a port where nothing listens is a temperror at once, not after the timeout", "[dns]")
{
    int port = unused_port();
    REQUIRE(port != 0);
    LiveOptions options = local_options(port);
    options.timeout = 2000ms;
    options.retries = 1;
    options.breaker_failures = 0;
    auto live = make_live_resolver(options);

    Answer answer;
    auto elapsed = time_lookup(*live, answer);

    CHECK(answer.outcome == Outcome::temperror);
    CHECK(answer.detail == "connection refused by 127.0.0.1:" + std::to_string(port) +
                               " (2 tries)");
    CHECK(elapsed < 200ms);
}

TEST_CASE("after three unanswered lookups a server is not asked until the cool-off ends",
          "[dns]")
{
    SilentPort silent(kFirstBreakerPort, kLastBreakerPort);
    REQUIRE(silent.port() != 0);
    LiveOptions options = local_options(silent.port());
    options.timeout = 100ms;
    options.retries = 0;
    options.breaker_failures = 3;
    options.breaker_cooloff = 5000ms;
    auto live = make_live_resolver(options);

    Answer answer;
    for (int i = 0; i < 3; ++i) {
        CHECK(time_lookup(*live, answer) >= 90ms);
        CHECK_THAT(answer.detail, Catch::StartsWith("timeout after "));
    }
    CHECK(silent.take_queries() == 3);

    auto elapsed = time_lookup(*live, answer, "other.example.test");
    CHECK(answer.outcome == Outcome::temperror);
    CHECK(answer.detail == down_detail(silent.port(), 3, "retrying in 5 s"));
    CHECK(elapsed < 50ms);
    CHECK(silent.take_queries() == 0);
}

TEST_CASE("after the cool-off one probe is let through, and an answer closes the breaker",
          "[dns]")
{
    int port = unused_port();
    REQUIRE(port != 0);
    LiveOptions options = local_options(port);
    options.breaker_failures = 3;
    options.breaker_cooloff = 300ms;
    auto live = make_live_resolver(options);
    const std::string refused = "connection refused by 127.0.0.1:" + std::to_string(port) +
                                " (2 tries)";

    Answer answer;
    for (int i = 0; i < 3; ++i) {
        time_lookup(*live, answer);
        CHECK(answer.detail == refused);
    }
    time_lookup(*live, answer);
    CHECK(answer.detail == down_detail(port, 3, "retrying in 1 s"));

    // The probe after the cool-off still finds nobody: the breaker opens again at once.
    std::this_thread::sleep_for(350ms);
    time_lookup(*live, answer);
    CHECK(answer.detail == refused);
    time_lookup(*live, answer);
    CHECK(answer.detail == down_detail(port, 4, "retrying in 1 s"));

    // The server is back: the next probe gets its answer and lookups go through again.
    RcodeServer recovered(0, port, port);
    REQUIRE(recovered.port() == port);
    std::this_thread::sleep_for(350ms);
    time_lookup(*live, answer);
    CHECK(answer.outcome == Outcome::nodata);
    time_lookup(*live, answer, "other.example.test");
    CHECK(answer.outcome == Outcome::nodata);
}

TEST_CASE("a breaker closed by an answer counts unanswered lookups from zero again", "[dns]")
{
    int port = unused_port();
    REQUIRE(port != 0);
    LiveOptions options = local_options(port);
    options.breaker_failures = 2;
    options.breaker_cooloff = 200ms;
    auto live = make_live_resolver(options);
    const std::string refused = "connection refused by 127.0.0.1:" + std::to_string(port) +
                                " (2 tries)";

    Answer answer;
    time_lookup(*live, answer);
    time_lookup(*live, answer);
    {
        RcodeServer recovered(0, port, port);
        REQUIRE(recovered.port() == port);
        std::this_thread::sleep_for(250ms);
        time_lookup(*live, answer);
        CHECK(answer.outcome == Outcome::nodata);
    }

    time_lookup(*live, answer);
    CHECK(answer.detail == refused);
    time_lookup(*live, answer);
    CHECK(answer.detail == refused);
    time_lookup(*live, answer);
    CHECK(answer.detail == down_detail(port, 2, "retrying in 1 s"));
}

TEST_CASE("while the probe of a down server is under way other lookups still fail at once",
          "[dns]")
{
    SilentPort silent(kFirstBreakerPort, kLastBreakerPort);
    REQUIRE(silent.port() != 0);
    LiveOptions options = local_options(silent.port());
    options.timeout = 400ms;
    options.retries = 0;
    options.breaker_failures = 1;
    options.breaker_cooloff = 100ms;
    auto live = make_live_resolver(options);

    Answer answer;
    time_lookup(*live, answer);
    std::this_thread::sleep_for(150ms);

    Answer probe;
    std::thread prober([&]() { time_lookup(*live, probe, "probe.example.test"); });
    std::this_thread::sleep_for(100ms);
    auto elapsed = time_lookup(*live, answer);
    prober.join();

    CHECK(answer.detail == down_detail(silent.port(), 1, "a retry is under way"));
    CHECK(elapsed < 50ms);
    CHECK_THAT(probe.detail, Catch::StartsWith("timeout after "));
    CHECK(silent.take_queries() == 2);  // the first lookup and the probe, nothing else

    time_lookup(*live, answer);
    CHECK(answer.detail == down_detail(silent.port(), 2, "retrying in 1 s"));
}

TEST_CASE("a server that answers with an error RCODE is up and never trips the breaker",
          "[dns]")
{
    RcodeServer servfail(2, kFirstBreakerPort, kLastBreakerPort);
    REQUIRE(servfail.port() != 0);
    LiveOptions options = local_options(servfail.port());
    options.breaker_failures = 1;
    auto live = make_live_resolver(options);

    for (int i = 0; i < 3; ++i) {
        Answer answer = live->lookup("example.test", RecordType::txt);
        CHECK(answer.detail == "SERVFAIL from 127.0.0.1:" + std::to_string(servfail.port()));
    }
}

TEST_CASE("threads sharing a resolver whose server is down all get a temperror quickly",
          "[dns]")
{
    int port = unused_port();
    REQUIRE(port != 0);
    auto live = make_live_resolver(local_options(port));  // the default 2 s timeout
    constexpr int kThreads = 4;
    constexpr int kLookupsPerThread = 50;
    std::atomic<int> not_temperror{0};

    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&]() {
            for (int i = 0; i < kLookupsPerThread; ++i) {
                Answer answer = live->lookup("n" + std::to_string(i) + ".test", RecordType::a);
                if (answer.outcome != Outcome::temperror) {
                    ++not_temperror;
                }
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }

    CHECK(not_temperror == 0);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
}

TEST_CASE("live lookups are safe from several threads at once", "[dns]")
{
    REQUIRE_UNBOUND(server);
    auto live = make_live_resolver(server->options());
    constexpr int kThreads = 4;
    constexpr int kLookupsPerThread = 200;
    std::atomic<int> wrong{0};

    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&]() {
            for (int i = 0; i < kLookupsPerThread; ++i) {
                Answer a = live->lookup("mx1.live.test", RecordType::a);
                Answer nx = live->lookup("n" + std::to_string(i) + ".live.test", RecordType::a);
                if (a.records != std::vector<std::string>{"192.0.2.25"} ||
                    nx.outcome != Outcome::nxdomain) {
                    ++wrong;
                }
            }
        });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    CHECK(wrong == 0);
}

TEST_CASE("resolver addresses parse as ADDR, ADDR:PORT, [V6]:PORT and bare V6", "[dns]")
{
    struct Row {
        const char* text;
        const char* server;
        int port;
    };
    const Row rows[] = {
        {"192.0.2.53", "192.0.2.53", 53},            // port left as it was
        {"127.0.0.1:15300", "127.0.0.1", 15300},     // IPv4 with port
        {"[2001:db8::53]:5353", "2001:db8::53", 5353},  // bracketed IPv6 with port
        {"[::1]", "::1", 53},                        // bracketed IPv6 without port
        {"2001:db8::53", "2001:db8::53", 53},        // bare IPv6: every colon is the address's
        {"::1", "::1", 53},
    };
    for (const Row& row : rows) {
        DYNAMIC_SECTION(row.text)
        {
            LiveOptions options;
            parse_server_address(row.text, options);
            CHECK(options.server == row.server);
            CHECK(options.port == row.port);
        }
    }
}

TEST_CASE("malformed resolver addresses are errors saying what is wrong", "[dns]")
{
    struct Row {
        const char* text;
        const char* message;
    };
    const Row rows[] = {
        {"", "bad resolver address : want ADDR, ADDR:PORT, [V6ADDR]:PORT or V6ADDR"},
        {"dns.example", "bad resolver address dns.example: not an IP address"},
        {"192.0.2.1:0", "bad resolver address 192.0.2.1:0: port must be 1-65535"},
        {"192.0.2.1:65536", "bad resolver address 192.0.2.1:65536: port must be 1-65535"},
        {"192.0.2.1:53x", "bad resolver address 192.0.2.1:53x: port must be 1-65535"},
        {"192.0.2.1:", "bad resolver address 192.0.2.1:: port must be 1-65535"},
        {"[2001:db8::1", "bad resolver address [2001:db8::1: missing ]"},
        {"[192.0.2.1]:53", "bad resolver address [192.0.2.1]:53: not an IPv6 address"},
        {"[::1]53", "bad resolver address [::1]53: want [V6ADDR]:PORT"},
        {"2001:db8::zz", "bad resolver address 2001:db8::zz: not an IP address"},
        {"256.1.1.1", "bad resolver address 256.1.1.1: not an IP address"},
    };
    for (const Row& row : rows) {
        DYNAMIC_SECTION(row.text)
        {
            LiveOptions options;
            try {
                parse_server_address(row.text, options);
                FAIL("accepted");
            } catch (const Error& error) {
                CHECK(std::string(error.what()) == row.message);
            }
            CHECK(options.server.empty());
            CHECK(options.port == 53);
        }
    }
}

TEST_CASE("a live resolver with a timeout too short to work is refused", "[dns]")
{
    LiveOptions options;
    options.server = "127.0.0.1";
    options.timeout = 1ms;
    CHECK_THROWS_AS(make_live_resolver(options), Error);
}

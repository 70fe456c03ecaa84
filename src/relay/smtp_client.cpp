// The SMTP client for the upstream relay.
//
// Why our own client over OpenSSL rather than libcurl (DEPENDENCIES.md section 8): a filter must
// tell a temporary refusal from a permanent one per recipient and per step, and curl 7.88 shows
// per-recipient replies only in its debug stream (RCPT 450 and 550 both become error 55; after
// DATA 451 and 554 both become error 8). Worse, curl reuses a plaintext connection for a later
// transfer that demands STARTTLS, which would send mail in clear. The dialogue we need (EHLO,
// STARTTLS, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, QUIT, no pipelining) is small enough to own, and
// owning it gives a timeout on every step and exact replies.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "relaygate/relay.hpp"

namespace relaygate::relay {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t max_reply_line_bytes = 4096;  // RFC 5321 says 512; servers exceed it
constexpr std::size_t max_reply_lines = 100;
constexpr std::size_t max_path_bytes = 256;         // RFC 5321 4.5.3.1.3
constexpr std::size_t read_chunk_bytes = 16384;
constexpr std::size_t write_chunk_bytes = 65536;
constexpr std::size_t max_host_name_bytes = 255;
constexpr auto quit_timeout = std::chrono::seconds(5);  // QUIT is a courtesy after the 250

// Ends the session: a transport failure, a timeout or a protocol violation. It never leaves
// this file; deliver() turns it into a temporary DeliveryResult at the step it happened.
struct SessionFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The last OpenSSL error as text, or `fallback` when the queue is empty.
std::string openssl_error(std::string_view fallback) {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return std::string(fallback);
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

// Ignores SIGPIPE while a session runs: a peer that closes mid-write must give EPIPE (a
// temporary failure), not kill the process that the MTA is waiting on.
class SigpipeIgnored {
public:
    SigpipeIgnored() {
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGPIPE, &ignore, &previous_);
    }
    ~SigpipeIgnored() { sigaction(SIGPIPE, &previous_, nullptr); }
    SigpipeIgnored(const SigpipeIgnored&) = delete;
    SigpipeIgnored& operator=(const SigpipeIgnored&) = delete;

private:
    struct sigaction previous_ {};
};

// Milliseconds left until `deadline`, for poll(); 0 once it has passed.
int millis_left(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Resolves the upstream host with getaddrinfo_a so that a silent DNS server cannot hold the
// MTA's delivery agent past the connect timeout.
struct Resolution {
    std::string host, port;
    addrinfo hints{};
    gaicb request{};
};

addrinfo* resolve(const Upstream& upstream, Clock::time_point deadline) {
    auto* job = new Resolution;
    job->host = upstream.host;
    job->port = std::to_string(upstream.port);
    job->hints.ai_family = AF_UNSPEC;
    job->hints.ai_socktype = SOCK_STREAM;
    job->request.ar_name = job->host.c_str();
    job->request.ar_service = job->port.c_str();
    job->request.ar_request = &job->hints;
    gaicb* list[] = {&job->request};
    if (int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); rc != 0) {
        delete job;
        throw SessionFailure("cannot resolve " + upstream.host + ": " + gai_strerror(rc));
    }

    while (gai_error(&job->request) == EAI_INPROGRESS) {
        auto left = millis_left(deadline);
        if (left == 0) {
            int cancel = gai_cancel(&job->request);
            if (cancel == EAI_ALLDONE) break;  // the answer arrived just now
            // TODO: a lookup that cannot be cancelled leaks its request, which the resolver
            // thread may still write into; tolerated as one small block per timed-out
            // lookup in a process that then exits, until we resolve through dns::Resolver.
            if (cancel == EAI_CANCELED) delete job;
            throw SessionFailure("timed out resolving " + upstream.host);
        }
        timespec wait{left / 1000, (left % 1000) * 1000000L};
        const gaicb* waiting[] = {&job->request};
        gai_suspend(waiting, 1, &wait);
    }

    int rc = gai_error(&job->request);
    addrinfo* result = job->request.ar_result;
    delete job;
    if (rc != 0) throw SessionFailure("cannot resolve " + upstream.host + ": " + gai_strerror(rc));
    return result;
}

// A TCP connection, plain or TLS, with a read buffer; every operation has a deadline.
class Connection {
public:
    Connection() = default;
    ~Connection() {
        if (ssl_) SSL_free(ssl_);
        if (ctx_) SSL_CTX_free(ctx_);
        if (fd_ >= 0) close(fd_);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool tls() const { return ssl_ != nullptr; }

    void connect(const Upstream& upstream, std::chrono::seconds timeout);
    void start_tls(const Upstream& upstream, const std::string& ca_file,
                   std::chrono::seconds timeout);
    void write_all(std::string_view data, std::chrono::seconds idle_timeout);
    std::string read_line(Clock::time_point deadline);

    // Bytes that arrived before the TLS handshake must not be read as if they came through
    // it (the STARTTLS injection of CVE-2011-0411, seen from the client side).
    void discard_buffered() { in_.clear(); }

private:
    void wait_for(short events, Clock::time_point deadline, const char* what);
    std::size_t read_some(char* buffer, std::size_t size, Clock::time_point deadline);
    std::size_t write_some(std::string_view data, Clock::time_point deadline);

    int fd_ = -1;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    std::string in_;
};

// Waits until the socket is ready for `events`, or throws at the deadline.
void Connection::wait_for(short events, Clock::time_point deadline, const char* what) {
    for (;;) {
        pollfd pfd{fd_, events, 0};
        int left = millis_left(deadline);
        if (left == 0) throw SessionFailure(std::string("timed out ") + what);
        int rc = poll(&pfd, 1, left);
        if (rc > 0) return;
        if (rc < 0 && errno != EINTR) {
            throw SessionFailure(std::string("poll failed: ") + std::strerror(errno));
        }
    }
}

// Connects to the first address that answers, each attempt bounded by the timeout.
void Connection::connect(const Upstream& upstream, std::chrono::seconds timeout) {
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(
        resolve(upstream, Clock::now() + timeout), freeaddrinfo);

    std::string last_error = "no address";
    for (auto* ai = addresses.get(); ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            last_error = std::strerror(errno);
            continue;
        }
        fd_ = fd;
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return;
        if (errno == EINPROGRESS) {
            try {
                wait_for(POLLOUT, Clock::now() + timeout, "connecting");
                int error = 0;
                socklen_t length = sizeof error;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
                if (error == 0) return;
                last_error = std::strerror(error);
            } catch (const SessionFailure& failure) {
                last_error = failure.what();
            }
        } else {
            last_error = std::strerror(errno);
        }
        close(fd);
        fd_ = -1;
    }
    throw SessionFailure("cannot connect to " + upstream.display() + ": " + last_error);
}

// TLS 1.2 or newer over the connection, the certificate verified against the CA file (or the
// system store) and the upstream's name or IP address.
void Connection::start_tls(const Upstream& upstream, const std::string& ca_file,
                           std::chrono::seconds timeout) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) throw SessionFailure(openssl_error("cannot create a TLS context"));
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx_)
                                 : SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    if (loaded != 1) {
        throw SessionFailure("cannot load CA certificates from " +
                             (ca_file.empty() ? std::string("the system store") : ca_file) +
                             ": " + openssl_error("unknown error"));
    }

    ssl_ = SSL_new(ctx_);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) throw SessionFailure(openssl_error("SSL_new"));
    in6_addr ip{};
    bool is_ip = inet_pton(AF_INET, upstream.host.c_str(), &ip) == 1 ||
                 inet_pton(AF_INET6, upstream.host.c_str(), &ip) == 1;
    int named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), upstream.host.c_str())
                      : SSL_set1_host(ssl_, upstream.host.c_str());
    if (named != 1) throw SessionFailure("cannot set the TLS peer name " + upstream.host);
    if (!is_ip) SSL_set_tlsext_host_name(ssl_, upstream.host.c_str());

    auto deadline = Clock::now() + timeout;
    for (;;) {
        int rc = SSL_connect(ssl_);
        if (rc == 1) return;
        int error = SSL_get_error(ssl_, rc);
        if (error == SSL_ERROR_WANT_READ) {
            wait_for(POLLIN, deadline, "in the TLS handshake");
        } else if (error == SSL_ERROR_WANT_WRITE) {
            wait_for(POLLOUT, deadline, "in the TLS handshake");
        } else {
            long verify = SSL_get_verify_result(ssl_);
            if (verify != X509_V_OK) {
                ERR_clear_error();
                throw SessionFailure(std::string("certificate verification failed: ") +
                                     X509_verify_cert_error_string(verify));
            }
            throw SessionFailure("TLS handshake failed: " +
                                 openssl_error("connection closed by the server"));
        }
    }
}

// Reads what is available (at least one byte), or throws on close, error or deadline.
std::size_t Connection::read_some(char* buffer, std::size_t size, Clock::time_point deadline) {
    for (;;) {
        if (ssl_) {
            int rc = SSL_read(ssl_, buffer, static_cast<int>(size));
            if (rc > 0) return static_cast<std::size_t>(rc);
            int error = SSL_get_error(ssl_, rc);
            if (error == SSL_ERROR_WANT_READ) {
                wait_for(POLLIN, deadline, "waiting for the server's reply");
            } else if (error == SSL_ERROR_WANT_WRITE) {
                wait_for(POLLOUT, deadline, "waiting for the server's reply");
            } else {
                throw SessionFailure("connection closed by the server: " +
                                     openssl_error("end of stream"));
            }
            continue;
        }
        ssize_t rc = recv(fd_, buffer, size, 0);
        if (rc > 0) return static_cast<std::size_t>(rc);
        if (rc == 0) throw SessionFailure("connection closed by the server");
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            wait_for(POLLIN, deadline, "waiting for the server's reply");
            continue;
        }
        throw SessionFailure(std::string("cannot read from the server: ") + std::strerror(errno));
    }
}

// Writes part of `data` (at least one byte), or throws on error or deadline.
std::size_t Connection::write_some(std::string_view data, Clock::time_point deadline) {
    for (;;) {
        if (ssl_) {
            std::size_t written = 0;
            int rc = SSL_write_ex(ssl_, data.data(), data.size(), &written);
            if (rc == 1) return written;
            int error = SSL_get_error(ssl_, rc);
            if (error == SSL_ERROR_WANT_READ) {
                wait_for(POLLIN, deadline, "sending to the server");
            } else if (error == SSL_ERROR_WANT_WRITE) {
                wait_for(POLLOUT, deadline, "sending to the server");
            } else {
                throw SessionFailure("cannot send to the server: " +
                                     openssl_error("connection closed"));
            }
            continue;
        }
        ssize_t rc = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (rc >= 0) return static_cast<std::size_t>(rc);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            wait_for(POLLOUT, deadline, "sending to the server");
            continue;
        }
        throw SessionFailure(std::string("cannot send to the server: ") + std::strerror(errno));
    }
}

// Sends everything; the timeout is for lack of progress, as Postfix's smtp_data_xfer_timeout,
// so a large message on a slow link is not cut off while a stalled server is.
void Connection::write_all(std::string_view data, std::chrono::seconds idle_timeout) {
    while (!data.empty()) {
        auto chunk = data.substr(0, write_chunk_bytes);
        auto written = write_some(chunk, Clock::now() + idle_timeout);
        data.remove_prefix(written);
    }
}

// One reply line without its line end; bare LF is tolerated, overlong lines end the session.
std::string Connection::read_line(Clock::time_point deadline) {
    for (;;) {
        auto lf = in_.find('\n');
        if (lf != std::string::npos) {
            std::string line = in_.substr(0, lf);
            in_.erase(0, lf + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            return line;
        }
        if (in_.size() > max_reply_line_bytes) {
            throw SessionFailure("reply line longer than " +
                                 std::to_string(max_reply_line_bytes) + " bytes");
        }
        char buffer[read_chunk_bytes];
        auto got = read_some(buffer, sizeof buffer, deadline);
        in_.append(buffer, got);
    }
}

// "250-SIZE 100" → code 250, more lines follow, text "SIZE 100"; false when malformed.
bool parse_reply_line(std::string_view line, int& code, bool& more, std::string_view& text) {
    if (line.size() < 3) return false;
    for (int i = 0; i < 3; ++i) {
        if (line[i] < '0' || line[i] > '9') return false;
    }
    if (line[0] < '2' || line[0] > '5') return false;
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    more = line.size() > 3 && line[3] == '-';
    if (line.size() > 3 && line[3] != '-' && line[3] != ' ') return false;
    text = line.size() > 4 ? line.substr(4) : std::string_view{};
    return true;
}

// What the server's EHLO reply offers.
struct Extensions {
    bool starttls = false;
    bool eight_bit_mime = false;
    bool smtputf8 = false;
    bool size = false;
    bool auth_plain = false;
    bool auth_login = false;
};

// ASCII uppercase, for EHLO keywords.
std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

// True when the address is ASCII (no SMTPUTF8 needed).
bool is_ascii(std::string_view text) {
    for (char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

// An envelope address we can put between angle brackets without changing the command: no
// line ends or other controls (command injection), no brackets (parameter injection). Spaces
// stay allowed for quoted local parts ("john doe"@example.net, as pipe(8) flag q passes them).
bool is_safe_path(std::string_view address) {
    if (address.size() > max_path_bytes) return false;
    for (char c : address) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f || c == '<' || c == '>') return false;
    }
    return true;
}

// Base64 of `data` for AUTH.
std::string base64(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                 reinterpret_cast<const unsigned char*>(data.data()),
                                 static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(length));
    return out;
}

// Our EHLO name: the configured one, else the host name (which must look like a name).
std::string ehlo_name(const std::string& configured) {
    if (!configured.empty()) return configured;
    char name[max_host_name_bytes + 1] = {};
    if (gethostname(name, max_host_name_bytes) != 0 || name[0] == '\0') return "localhost";
    return name;
}

// One SMTP session with the upstream, step by step; the state of the result is filled as
// it goes, so a failure anywhere still reports the step and the last reply.
class Session {
public:
    Session(const SmtpOptions& options, DeliveryResult& result)
        : options_(options), result_(result) {}

    void run(std::string_view mail_from, const std::vector<std::string>& recipients,
             std::string_view message);

private:
    Reply read_reply(std::chrono::seconds timeout);
    Reply command(const std::string& step, const std::string& line);
    void greet();
    void hello();
    void secure();
    void authenticate();
    bool send_envelope(std::string_view mail_from, const std::vector<std::string>& recipients,
                       std::string_view message);
    void send_data(std::string_view message);
    void quit();

    // Ends the session with `outcome` at the current step.
    void finish(Outcome outcome, const Reply& reply, std::string detail) {
        result_.outcome = outcome;
        result_.reply = reply;
        result_.detail = std::move(detail);
        done_ = true;
    }

    const SmtpOptions& options_;
    DeliveryResult& result_;
    Connection connection_;
    Extensions extensions_;
    std::vector<std::string> last_lines_;  // the text of each line of the last reply
    bool done_ = false;
};

// Reads one whole reply (multi-line ones joined with " / "); malformed replies end the session.
Reply Session::read_reply(std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    Reply reply;
    last_lines_.clear();
    for (std::size_t count = 0; count < max_reply_lines; ++count) {
        auto line = connection_.read_line(deadline);
        int code = 0;
        bool more = false;
        std::string_view text;
        if (!parse_reply_line(line, code, more, text) || (reply.code && code != reply.code)) {
            throw SessionFailure("malformed reply from the server: '" +
                                 line.substr(0, max_logged_value) + "'");
        }
        reply.code = code;
        last_lines_.emplace_back(text.substr(0, max_reply_line_bytes));
        if (!reply.text.empty()) reply.text += " / ";
        reply.text.append(text.substr(0, max_reply_line_bytes));
        if (!more) return reply;
    }
    throw SessionFailure("reply of more than " + std::to_string(max_reply_lines) + " lines");
}

// Sends one command line at `step` and reads its reply.
Reply Session::command(const std::string& step, const std::string& line) {
    result_.step = step;
    connection_.write_all(line + "\r\n", options_.timeout);
    return read_reply(options_.timeout);
}

// The 220 greeting; anything else is about the server, not this message: temporary.
void Session::greet() {
    result_.step = "greeting";
    auto reply = read_reply(options_.timeout);
    if (reply.code != 220) {
        finish(Outcome::temporary, reply, "upstream refused the session: " + reply.line());
    }
}

// The outcome a refusal means: 5xx permanent, anything else (4xx, or a code that makes no
// sense at that step) temporary, so that a confused server never causes a bounce.
Outcome outcome_of_refusal(const Reply& reply) {
    return reply.permanent() ? Outcome::permanent : Outcome::temporary;
}

// "a@x, b@y" for details.
std::string join(const std::vector<std::string>& addresses) {
    std::string out;
    for (const auto& address : addresses) {
        if (!out.empty()) out += ", ";
        out += address.substr(0, max_logged_value);
    }
    return out;
}

// EHLO (HELO when EHLO is not understood), and the extensions its reply offers.
void Session::hello() {
    auto name = ehlo_name(options_.helo_name);
    auto reply = command("ehlo", "EHLO " + name);
    extensions_ = Extensions{};
    if (reply.permanent()) {
        reply = command("ehlo", "HELO " + name);
        if (reply.code == 250) return;
    }
    if (reply.code != 250) {
        finish(Outcome::temporary, reply, "upstream refused EHLO: " + reply.line());
        return;
    }

    // The first line is the server's name; each further line is one extension.
    for (std::size_t i = 1; i < last_lines_.size(); ++i) {
        auto keyword_line = upper(last_lines_[i]);
        if (keyword_line == "STARTTLS") extensions_.starttls = true;
        if (keyword_line == "8BITMIME") extensions_.eight_bit_mime = true;
        if (keyword_line == "SMTPUTF8") extensions_.smtputf8 = true;
        if (keyword_line == "SIZE" || keyword_line.starts_with("SIZE ")) extensions_.size = true;
        if (keyword_line.starts_with("AUTH ") || keyword_line.starts_with("AUTH=")) {
            auto mechanisms = " " + keyword_line.substr(5) + " ";
            if (mechanisms.find(" PLAIN ") != std::string::npos) extensions_.auth_plain = true;
            if (mechanisms.find(" LOGIN ") != std::string::npos) extensions_.auth_login = true;
        }
    }
}

// STARTTLS as the TLS policy asks, then EHLO again over TLS (RFC 3207 4.2: forget what the
// plaintext EHLO said). A required TLS that cannot be had is temporary: the MTA retries.
void Session::secure() {
    if (connection_.tls() || options_.tls == TlsPolicy::none) return;
    if (!extensions_.starttls) {
        if (options_.tls == TlsPolicy::opportunistic) return;
        result_.step = "starttls";
        finish(Outcome::temporary, {},
               "upstream " + options_.upstream.display() +
                   " does not offer STARTTLS, which the policy requires");
        return;
    }

    auto reply = command("starttls", "STARTTLS");
    if (reply.code != 220) {
        finish(Outcome::temporary, reply, "upstream refused STARTTLS: " + reply.line());
        return;
    }
    connection_.discard_buffered();
    result_.step = "tls";
    connection_.start_tls(options_.upstream, options_.ca_file, options_.timeout);
    hello();
}

// AUTH PLAIN, else LOGIN, only over TLS or to loopback. Refused credentials are our
// configuration's fault, not the message's: temporary, so no mail bounces for a bad password.
void Session::authenticate() {
    if (options_.auth_user.empty()) return;
    result_.step = "auth";
    if (!connection_.tls() && !options_.upstream.is_loopback()) {
        finish(Outcome::temporary, {},
               "refusing to send the AUTH password unencrypted to " +
                   options_.upstream.display());
        return;
    }

    Reply reply;
    if (extensions_.auth_plain) {
        std::string token = std::string(1, '\0') + options_.auth_user + '\0' +
                            options_.auth_password;
        reply = command("auth", "AUTH PLAIN " + base64(token));
    } else if (extensions_.auth_login) {
        reply = command("auth", "AUTH LOGIN");
        if (reply.code == 334) reply = command("auth", base64(options_.auth_user));
        if (reply.code == 334) reply = command("auth", base64(options_.auth_password));
    } else {
        finish(Outcome::temporary, {}, "upstream offers neither AUTH PLAIN nor AUTH LOGIN");
        return;
    }
    if (reply.code != 235) {
        finish(Outcome::temporary, reply, "upstream refused our credentials: " + reply.line());
    }
}

// MAIL and one RCPT per recipient; true when DATA should follow. Any recipient deferred (4xx)
// stops the transaction before DATA, so that a retry of the whole delivery cannot duplicate
// the message for recipients already served.
bool Session::send_envelope(std::string_view mail_from,
                            const std::vector<std::string>& recipients,
                            std::string_view message) {
    result_.step = "envelope";
    bool utf8 = !is_ascii(mail_from);
    if (!mail_from.empty() && !is_safe_path(mail_from)) {
        finish(Outcome::permanent, {}, "invalid envelope sender");
        return false;
    }
    for (const auto& rcpt : recipients) {
        utf8 = utf8 || !is_ascii(rcpt);
        if (rcpt.empty() || !is_safe_path(rcpt)) {
            finish(Outcome::permanent, {},
                   "invalid envelope recipient '" + rcpt.substr(0, max_logged_value) + "'");
            return false;
        }
    }
    if (utf8 && !extensions_.smtputf8) {
        finish(Outcome::permanent, {},
               "upstream does not offer SMTPUTF8, which a non-ASCII address needs");
        return false;
    }

    std::string mail = "MAIL FROM:<" + std::string(mail_from) + ">";
    if (extensions_.size) mail += " SIZE=" + std::to_string(message.size());
    if (extensions_.eight_bit_mime && !is_ascii(message)) mail += " BODY=8BITMIME";
    if (utf8) mail += " SMTPUTF8";
    auto reply = command("mail", mail);
    if (reply.code / 100 != 2) {
        finish(outcome_of_refusal(reply), reply, "upstream refused the sender: " + reply.line());
        return false;
    }

    const Reply* first_refusal = nullptr;
    bool any_accepted = false;
    for (auto& rcpt : result_.recipients) {
        rcpt.reply = command("rcpt", "RCPT TO:<" + rcpt.address + ">");
        if (rcpt.accepted()) {
            any_accepted = true;
        } else if (!first_refusal) {
            first_refusal = &rcpt.reply;
        }
    }

    auto deferred = result_.refused(false);
    if (!deferred.empty()) {
        for (const auto& rcpt : result_.recipients) {
            bool deferred = !rcpt.accepted() && !rcpt.reply.permanent();
            if (deferred) {
                first_refusal = &rcpt.reply;
                break;
            }
        }
        finish(Outcome::temporary, *first_refusal,
               "upstream deferred " + join(deferred) + "; nothing sent");
        return false;
    }
    if (!any_accepted) {
        finish(outcome_of_refusal(*first_refusal), *first_refusal,
               "upstream refused every recipient: " + first_refusal->line());
        return false;
    }
    return true;
}

// DATA, the payload, and the final reply: only a 2xx there means the upstream has the message.
void Session::send_data(std::string_view message) {
    auto reply = command("data", "DATA");
    if (reply.code != 354) {
        finish(outcome_of_refusal(reply), reply, "upstream refused DATA: " + reply.line());
        return;
    }

    result_.step = "body";
    result_.tls = connection_.tls();
    connection_.write_all(data_payload(message), options_.timeout);

    result_.step = "dot";
    reply = read_reply(options_.timeout);
    if (reply.code / 100 != 2) {
        finish(outcome_of_refusal(reply), reply, "upstream refused the message: " + reply.line());
        return;
    }
    result_.data_accepted = true;
    result_.step = "done";
    auto refused = result_.refused(true);
    if (refused.empty()) {
        finish(Outcome::delivered, reply, "");
        return;
    }
    // sendmail's way: the others have it; the refused ones bounce (pipe_exit_code).
    const Reply* first = nullptr;
    for (const auto& rcpt : result_.recipients) {
        if (!first && rcpt.reply.permanent()) first = &rcpt.reply;
    }
    finish(Outcome::permanent, *first,
           "upstream refused " + join(refused) + " (" + first->line() +
               "); delivered to the other recipients");
}

// QUIT, as a courtesy: nothing depends on its reply any more.
void Session::quit() {
    try {
        connection_.write_all("QUIT\r\n", quit_timeout);
        auto deadline = Clock::now() + quit_timeout;
        while (true) {  // the reply; a server that just closes is fine too
            auto line = connection_.read_line(deadline);
            if (line.size() < 4 || line[3] != '-') break;
        }
    } catch (const SessionFailure&) {
        // The outcome was decided before QUIT.
    }
}

// The whole dialogue; returns early (after QUIT) once a step has decided the outcome.
void Session::run(std::string_view mail_from, const std::vector<std::string>& recipients,
                  std::string_view message) {
    result_.step = "connect";
    connection_.connect(options_.upstream, options_.timeout);
    if (options_.upstream.implicit_tls) {
        result_.step = "tls";
        connection_.start_tls(options_.upstream, options_.ca_file, options_.timeout);
    }

    greet();
    if (!done_) hello();
    if (!done_) secure();
    if (!done_) authenticate();
    if (!done_ && send_envelope(mail_from, recipients, message)) send_data(message);
    quit();
}

}  // namespace

DeliveryResult deliver(const SmtpOptions& options, std::string_view mail_from,
                       const std::vector<std::string>& recipients, std::string_view message) {
    DeliveryResult result;
    for (const auto& rcpt : recipients) result.recipients.push_back({rcpt, {}});
    if (recipients.empty()) {
        result.outcome = Outcome::permanent;
        result.step = "envelope";
        result.detail = "no recipients";
        return result;
    }

    SigpipeIgnored sigpipe_ignored;
    Session session(options, result);
    try {
        session.run(mail_from, recipients, message);
    } catch (const SessionFailure& failure) {
        // Whatever broke the session before the final 2xx: the upstream may not have the
        // message, so the MTA keeps it. (A break after that 2xx is caught inside quit().)
        result.outcome = Outcome::temporary;
        result.data_accepted = false;
        result.detail = result.step + ": " + failure.what();
    }
    return result;
}

}  // namespace relaygate::relay

// Reading a policy file: JSON with comments, checked key by key against the schema below, so
// that a typo or a wrong type is an error naming the file, line, column and key path, never
// a silent default.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "policy/json_locations.hpp"
#include "relaygate/policy.hpp"

namespace relaygate {
namespace {

using Json = nlohmann::json;
using policy_detail::JsonLocations;

// A policy file is a page of settings; anything far larger is the wrong file.
constexpr std::size_t max_policy_bytes = 1u << 20;
constexpr std::size_t max_domain_length = 253;
constexpr std::size_t max_label_length = 63;

const std::vector<std::string_view> layer_names{"connection", "header", "auth", "payload"};
const std::vector<std::string_view> action_words{"accept", "quarantine", "reject", "tempfail",
                                                 "none"};

std::string json_type_name(const Json& value)
{
    switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case Json::value_t::string: return "the string \"" + value.get<std::string>() + "\"";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "the number " + value.dump();
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    default: return "a value of another kind";
    }
}

std::string join(const std::vector<std::string_view>& words)
{
    std::string out;
    for (const auto& word : words)
        out += (out.empty() ? "" : ", ") + std::string(word);
    return out;
}

bool is_domain_name(std::string_view name)
{
    if (name.empty() || name.size() > max_domain_length || name.front() == '.' ||
        name.back() == '.')
        return false;
    std::size_t label = 0;
    for (char c : name) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        bool allowed = std::isalnum(byte) || c == '-' || c == '_' || byte >= 0x80;
        if (!allowed || ++label > max_label_length)
            return false;
    }
    return true;
}

// "192.0.2.0/24", "2001:db8::/32" or a single address, with the prefix inside the family.
bool is_cidr(std::string_view text)
{
    std::string address(text.substr(0, text.find('/')));
    unsigned char bytes[16];
    int max_prefix = 0;
    if (inet_pton(AF_INET, address.c_str(), bytes) == 1)
        max_prefix = 32;
    else if (inet_pton(AF_INET6, address.c_str(), bytes) == 1)
        max_prefix = 128;
    else
        return false;

    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return true;
    std::string_view prefix = text.substr(slash + 1);
    if (prefix.empty() || prefix.size() > 3)
        return false;
    int value = 0;
    for (char c : prefix) {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + (c - '0');
    }
    return value <= max_prefix;
}

std::string lowercase(std::string text)
{
    for (char& c : text) {
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    return text;
}

class Loader {
public:
    Loader(std::string_view text, std::string name)
        : text_(text), name_(std::move(name)), locations_(policy_detail::index_json(text))
    {
    }

    Policy load(const Json& document);

private:
    using Reader = std::function<void(const Json&, const std::string&)>;
    struct Field {
        std::string_view key;
        Reader read;
    };

    [[noreturn]] void fail(const std::string& path, const std::string& what) const;
    [[noreturn]] void fail_at(std::size_t offset, const std::string& path,
                              const std::string& what) const;
    void read_object(const Json& value, const std::string& path,
                     const std::vector<Field>& fields) const;
    void expect(bool ok, const Json& value, const std::string& path,
                const std::string& expected) const;

    Reader text(std::string& target, bool allow_empty = true) const;
    Reader flag(bool& target) const;
    Reader choice(std::string& target, std::vector<std::string_view> words) const;
    Reader number(double& target) const;
    template <typename Count>
    Reader count(Count& target, Count minimum, Count maximum) const;
    Reader string_list(std::vector<std::string>& target,
                       std::function<bool(std::string_view)> valid,
                       const std::string& expected) const;
    Reader blocklists(std::vector<Blocklist>& target) const;
    Reader blocklist(Blocklist& target) const;
    Reader list_codes(std::map<std::string, ListCode>& target) const;
    Reader layers(std::vector<std::string>& target) const;
    Reader weights(std::map<std::string, double>& target) const;
    Reader actions(std::map<std::string, std::string>& target) const;
    Reader optional_flag(std::optional<bool>& target) const;
    void check_thresholds(const Policy& policy) const;

    std::string_view text_;
    std::string name_;
    JsonLocations locations_;
};

void Loader::fail_at(std::size_t offset, const std::string& path, const std::string& what) const
{
    auto position = policy_detail::position_of(text_, offset);
    throw PolicyError(name_ + ":" + std::to_string(position.line) + ":" +
                      std::to_string(position.column) + ": " + path + ": " + what);
}

// The location is that of the member or element at path, or of its nearest ancestor.
void Loader::fail(const std::string& path, const std::string& what) const
{
    std::string probe = path;
    while (!probe.empty()) {
        if (auto it = locations_.offsets.find(probe); it != locations_.offsets.end())
            fail_at(it->second, path.empty() ? "(top level)" : path, what);
        auto cut = probe.find_last_of(".[");
        probe = cut == std::string::npos ? std::string() : probe.substr(0, cut);
    }
    fail_at(0, path.empty() ? "(top level)" : path, what);
}

void Loader::expect(bool ok, const Json& value, const std::string& path,
                    const std::string& expected) const
{
    if (!ok)
        fail(path, "expected " + expected + ", got " + json_type_name(value));
}

void Loader::read_object(const Json& value, const std::string& path,
                         const std::vector<Field>& fields) const
{
    expect(value.is_object(), value, path, "an object");
    for (const auto& [key, member] : value.items()) {
        std::string child = policy_detail::member_path(path, key);
        auto field = std::find_if(fields.begin(), fields.end(),
                                  [&](const Field& f) { return f.key == key; });
        if (field == fields.end()) {
            std::vector<std::string_view> known;
            for (const auto& f : fields)
                known.push_back(f.key);
            fail(child, "unknown key; expected one of " + join(known));
        }
        field->read(member, child);
    }
}

Loader::Reader Loader::text(std::string& target, bool allow_empty) const
{
    return [this, &target, allow_empty](const Json& value, const std::string& path) {
        expect(value.is_string() && (allow_empty || !value.get<std::string>().empty()), value,
               path, allow_empty ? "a string" : "a non-empty string");
        target = value.get<std::string>();
    };
}

Loader::Reader Loader::choice(std::string& target, std::vector<std::string_view> words) const
{
    return [this, &target, words](const Json& value, const std::string& path) {
        bool known = value.is_string() && std::find(words.begin(), words.end(),
                                                    value.get<std::string>()) != words.end();
        expect(known, value, path, "one of " + join(words));
        target = value.get<std::string>();
    };
}

Loader::Reader Loader::flag(bool& target) const
{
    return [this, &target](const Json& value, const std::string& path) {
        expect(value.is_boolean(), value, path, "true or false");
        target = value.get<bool>();
    };
}

Loader::Reader Loader::optional_flag(std::optional<bool>& target) const
{
    return [this, &target](const Json& value, const std::string& path) {
        expect(value.is_boolean() || value.is_null(), value, path,
               "true, false or null (null: on for pipe, off for check and scan)");
        target = value.is_null() ? std::nullopt : std::optional<bool>(value.get<bool>());
    };
}

Loader::Reader Loader::number(double& target) const
{
    return [this, &target](const Json& value, const std::string& path) {
        expect(value.is_number() && std::isfinite(value.get<double>()), value, path, "a number");
        target = value.get<double>();
    };
}

template <typename Count>
Loader::Reader Loader::count(Count& target, Count minimum, Count maximum) const
{
    return [this, &target, minimum, maximum](const Json& value, const std::string& path) {
        bool ok = value.is_number_unsigned() && value.get<std::uint64_t>() >= minimum &&
                  value.get<std::uint64_t>() <= maximum;
        expect(ok, value, path,
               "a whole number from " + std::to_string(minimum) + " to " +
                   std::to_string(maximum));
        target = static_cast<Count>(value.get<std::uint64_t>());
    };
}

Loader::Reader Loader::string_list(std::vector<std::string>& target,
                                   std::function<bool(std::string_view)> valid,
                                   const std::string& expected) const
{
    return [this, &target, valid, expected](const Json& value, const std::string& path) {
        expect(value.is_array(), value, path, "an array of " + expected + "s");
        target.clear();
        for (std::size_t i = 0; i < value.size(); ++i) {
            const Json& item = value[i];
            std::string item_path = policy_detail::element_path(path, i);
            expect(item.is_string() && valid(item.get<std::string>()), item, item_path,
                   expected);
            target.push_back(item.get<std::string>());
        }
    };
}

Loader::Reader Loader::list_codes(std::map<std::string, ListCode>& target) const
{
    return [this, &target](const Json& value, const std::string& path) {
        expect(value.is_object(), value, path,
               "an object of return codes such as {\"127.0.0.2\": {\"meaning\": ..., "
               "\"weight\": ...}}");
        target.clear();
        for (const auto& [code, entry] : value.items()) {
            std::string code_path = policy_detail::member_path(path, code);
            unsigned char bytes[4];
            if (inet_pton(AF_INET, code.c_str(), bytes) != 1 || bytes[0] != 127)
                fail(code_path, "expected a return code in 127.0.0.0/8 such as 127.0.0.2");
            ListCode list_code;
            read_object(entry, code_path,
                        {{"meaning", text(list_code.meaning)},
                         {"weight", number(list_code.weight)}});
            target[code] = list_code;
        }
    };
}

Loader::Reader Loader::blocklist(Blocklist& target) const
{
    return [this, &target](const Json& value, const std::string& path) {
        read_object(value, path,
                    {{"zone", text(target.zone)},
                     {"weight", number(target.weight)},
                     {"codes", list_codes(target.codes)}});
        if (!is_domain_name(target.zone))
            fail(policy_detail::member_path(path, "zone"),
                 "expected a zone name such as zen.example.org");
        target.zone = lowercase(target.zone);
    };
}

Loader::Reader Loader::blocklists(std::vector<Blocklist>& target) const
{
    return [this, &target](const Json& value, const std::string& path) {
        expect(value.is_array(), value, path, "an array of {zone, weight, codes} objects");
        target.clear();
        for (std::size_t i = 0; i < value.size(); ++i) {
            Blocklist list;
            blocklist(list)(value[i], policy_detail::element_path(path, i));
            target.push_back(list);
        }
    };
}

Loader::Reader Loader::layers(std::vector<std::string>& target) const
{
    return [this, &target](const Json& value, const std::string& path) {
        expect(value.is_array() && !value.empty(), value, path, "a non-empty array of layers");
        target.clear();
        for (std::size_t i = 0; i < value.size(); ++i) {
            std::string item_path = policy_detail::element_path(path, i);
            const Json& item = value[i];
            bool known = item.is_string() &&
                         std::find(layer_names.begin(), layer_names.end(),
                                   item.get<std::string>()) != layer_names.end();
            expect(known, item, item_path, "one of " + join(layer_names));
            if (std::find(target.begin(), target.end(), item.get<std::string>()) !=
                target.end())
                fail(item_path, "expected each layer once, got \"" +
                                    item.get<std::string>() + "\" again");
            target.push_back(item.get<std::string>());
        }
    };
}

Loader::Reader Loader::weights(std::map<std::string, double>& target) const
{
    return [this, &target](const Json& value, const std::string& path) {
        expect(value.is_object(), value, path, "an object of finding id → number");
        for (const auto& [id, weight] : value.items()) {
            std::string id_path = policy_detail::member_path(path, id);
            if (!find_finding(id))
                fail(id_path, "expected a finding id (relaygate config findings lists them)");
            number(target[id])(weight, id_path);
        }
    };
}

Loader::Reader Loader::actions(std::map<std::string, std::string>& target) const
{
    return [this, &target](const Json& value, const std::string& path) {
        expect(value.is_object(), value, path, "an object of finding id → action");
        for (const auto& [id, action] : value.items()) {
            std::string id_path = policy_detail::member_path(path, id);
            if (!find_finding(id))
                fail(id_path, "expected a finding id (relaygate config findings lists them)");
            bool known = action.is_string() &&
                         std::find(action_words.begin(), action_words.end(),
                                   action.get<std::string>()) != action_words.end();
            expect(known, action, id_path, "one of " + join(action_words));
            target[id] = action.get<std::string>();
        }
    };
}

// A threshold at or below zero would quarantine or reject mail with no finding at all.
void Loader::check_thresholds(const Policy& policy) const
{
    if (policy.thresholds.quarantine <= 0) {
        std::ostringstream what;
        what << "expected a number above 0, got " << policy.thresholds.quarantine;
        fail("thresholds.quarantine", what.str());
    }
    if (policy.thresholds.quarantine > policy.thresholds.reject) {
        std::ostringstream what;
        what << "expected a number not below thresholds.quarantine ("
             << policy.thresholds.quarantine << "), got " << policy.thresholds.reject;
        fail("thresholds.reject", what.str());
    }
}

// The schema: every key a policy file may hold, and how each is read.
Policy Loader::load(const Json& document)
{
    if (!locations_.duplicate_path.empty())
        fail_at(locations_.duplicate_offset, locations_.duplicate_path,
                "duplicate key; expected each key once");

    Policy policy = default_policy();
    auto& org = policy.organization;
    auto& conn = policy.connection;
    auto& relay = policy.relay;
    auto& payload = policy.payload;
    auto domain = [](std::string_view name) { return is_domain_name(name); };
    auto cidr = [](std::string_view text) { return is_cidr(text); };
    auto cidr_or_host = [](std::string_view text) { return is_cidr(text) || is_domain_name(text); };
    auto any_text = [](std::string_view text) { return !text.empty(); };
    auto upstream = [](std::string_view text) {
        return text.empty() || text.rfind("smtp://", 0) == 0 || text.rfind("smtps://", 0) == 0;
    };

    read_object(document, "", {
        {"authserv_id", text(policy.authserv_id, false)},
        {"organization", [&](const Json& v, const std::string& p) {
            read_object(v, p, {
                {"domains", string_list(org.domains, domain, "a domain name")},
                {"people", string_list(org.people, any_text, "a person's name")},
            });
        }},
        {"connection", [&](const Json& v, const std::string& p) {
            read_object(v, p, {
                {"trusted_relays",
                 string_list(conn.trusted_relays, cidr_or_host, "a CIDR or a host name")},
                {"allow", string_list(conn.allow, cidr, "a CIDR such as 192.0.2.0/24")},
                {"block", string_list(conn.block, cidr, "a CIDR such as 192.0.2.0/24")},
                {"dnsbl", blocklists(conn.dnsbl)},
                {"fcrdns", flag(conn.fcrdns)},
                {"helo_checks", flag(conn.helo_checks)},
            });
        }},
        {"header", [&](const Json& v, const std::string& p) {
            read_object(v, p, {
                {"lookalike_max_distance",
                 count(policy.header.lookalike_max_distance, 0u, 3u)},
                {"clock_skew_seconds",
                 count(policy.header.clock_skew_seconds, 0u, 7u * 86400u)},
            });
        }},
        {"auth", [&](const Json& v, const std::string& p) {
            read_object(v, p, {
                {"max_dkim_signatures",
                 count(policy.auth.max_dkim_signatures, std::size_t{1}, std::size_t{100})},
                {"allow_rsa_sha1", flag(policy.auth.allow_rsa_sha1)},
                {"dmarc_discovery", choice(policy.auth.dmarc_discovery, {"psl", "tree-walk"})},
                {"min_rsa_bits", count(policy.auth.min_rsa_bits, 512u, 16384u)},
            });
        }},
        {"payload", [&](const Json& v, const std::string& p) {
            read_object(v, p, {
                {"uribl", blocklists(payload.uribl)},
                {"model", text(payload.model)},
                {"max_depth", count(payload.max_depth, std::size_t{1}, std::size_t{1000})},
                {"max_parts", count(payload.max_parts, std::size_t{1}, std::size_t{100000})},
                {"max_decoded_bytes",
                 count(payload.max_decoded_bytes, std::size_t{1}, std::size_t{1} << 40)},
                {"max_archive_depth",
                 count(payload.max_archive_depth, std::size_t{0}, std::size_t{32})},
            });
        }},
        {"relay", [&](const Json& v, const std::string& p) {
            read_object(v, p, {
                {"allowed_clients",
                 string_list(relay.allowed_clients, cidr, "a CIDR such as 192.0.2.0/24")},
                {"upstream", [&](const Json& u, const std::string& up) {
                    expect(u.is_string() && upstream(u.get<std::string>()), u, up,
                           "smtp://HOST:PORT or smtps://HOST:PORT");
                    relay.upstream = u.get<std::string>();
                }},
                {"require_tls", flag(relay.require_tls)},
                {"ca_file", text(relay.ca_file)},
                {"auth_user", text(relay.auth_user)},
                {"auth_password_file", text(relay.auth_password_file)},
                {"quarantine_dir", text(relay.quarantine_dir)},
                {"timeout_seconds", count(relay.timeout_seconds, 1u, 3600u)},
            });
        }},
        {"layers", layers(policy.layers)},
        {"thresholds", [&](const Json& v, const std::string& p) {
            read_object(v, p, {
                {"quarantine", number(policy.thresholds.quarantine)},
                {"reject", number(policy.thresholds.reject)},
            });
        }},
        {"weights", weights(policy.weights)},
        {"actions", actions(policy.actions)},
        {"short_circuit", optional_flag(policy.short_circuit)},
    });

    check_thresholds(policy);
    for (auto& name : org.domains)
        name = lowercase(name);
    return policy;
}

// nlohmann's message after its "parse error at line L, column C: " prefix, which we replace
// with our own FILE:LINE:COL.
std::string syntax_problem(const nlohmann::json::parse_error& error)
{
    std::string what = error.what();
    auto column = what.find(", column ");
    auto colon = column == std::string::npos ? what.find("] ") : what.find(": ", column);
    std::string problem = colon == std::string::npos ? what : what.substr(colon + 2);
    for (char& c : problem) {
        if (c == '\n' || c == '\r')
            c = ' ';
    }
    return problem;
}

}  // namespace

Policy parse_policy(std::string_view text, const std::string& name)
{
    Json document;
    try {
        document = Json::parse(text.begin(), text.end(), nullptr, true, true);
    } catch (const nlohmann::json::parse_error& error) {
        // nlohmann counts the bytes read, the offending one included.
        std::size_t offset = error.byte > 0 ? error.byte - 1 : 0;
        auto position = policy_detail::position_of(text, offset);
        throw PolicyError(name + ":" + std::to_string(position.line) + ":" +
                          std::to_string(position.column) + ": " + syntax_problem(error));
    } catch (const nlohmann::json::exception& error) {
        // A number out of range ("1e400") carries no position; its text names it.
        std::string what = error.what();
        throw PolicyError(name + ": " + what.substr(what.find("] ") + 2));
    }
    return Loader(text, name).load(document);
}

Policy load_policy(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw PolicyError("cannot open " + path + ": " + std::strerror(errno));
    std::string text;
    text.resize(max_policy_bytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad())
        throw PolicyError("cannot read " + path + ": " + std::strerror(errno));
    if (text.size() > max_policy_bytes)
        throw PolicyError(path + ": larger than " + std::to_string(max_policy_bytes) +
                          " bytes; expected a policy file");
    return parse_policy(text, path);
}

}  // namespace relaygate

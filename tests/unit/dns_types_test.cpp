// Record type names, outcome names and reverse (PTR) names.
#include <catch2/catch.hpp>

#include "relaygate/dns.hpp"

using namespace relaygate::dns;

TEST_CASE("record types parse from their names in any case and print back", "[dns]")
{
    const std::pair<const char*, RecordType> rows[] = {
        {"A", RecordType::a},     {"ns", RecordType::ns},     {"CName", RecordType::cname},
        {"SOA", RecordType::soa}, {"ptr", RecordType::ptr},   {"MX", RecordType::mx},
        {"txt", RecordType::txt}, {"AAAA", RecordType::aaaa}, {"spf", RecordType::spf},
    };
    for (const auto& [text, type] : rows) {
        DYNAMIC_SECTION(text)
        {
            auto parsed = parse_record_type(text);
            REQUIRE(parsed);
            CHECK(*parsed == type);
            CHECK(parse_record_type(to_string(type)) == type);
        }
    }
    CHECK(to_string(RecordType::aaaa) == "AAAA");
}

TEST_CASE("record types the product does not handle do not parse", "[dns]")
{
    for (const char* text : {"", "SRV", "AA", "A ", "TYPE1", "ANY", "1"}) {
        CHECK_FALSE(parse_record_type(text));
    }
}

TEST_CASE("outcomes print as lowercase words", "[dns]")
{
    CHECK(to_string(Outcome::found) == "found");
    CHECK(to_string(Outcome::nodata) == "nodata");
    CHECK(to_string(Outcome::nxdomain) == "nxdomain");
    CHECK(to_string(Outcome::temperror) == "temperror");
}

TEST_CASE("reverse names of IPv4 addresses reverse the octets under in-addr.arpa", "[dns]")
{
    CHECK(reverse_name("192.0.2.7") == std::optional<std::string>("7.2.0.192.in-addr.arpa"));
    CHECK(reverse_name("10.0.0.255") == std::optional<std::string>("255.0.0.10.in-addr.arpa"));
}

TEST_CASE("reverse names of IPv6 addresses reverse all 32 nibbles under ip6.arpa", "[dns]")
{
    // RFC 3596 section 2.5's example, written compressed.
    CHECK(reverse_name("4321:0:1:2:3:4:567:89ab") ==
          std::optional<std::string>("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0."
                                     "1.2.3.4.ip6.arpa"));
    CHECK(reverse_name("::1") ==
          std::optional<std::string>("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                                     "0.0.0.0.ip6.arpa"));
}

TEST_CASE("text that is not an IP address has no reverse name", "[dns]")
{
    for (const char* text : {"", "example.com", "192.0.2", "192.0.2.256", " 192.0.2.1",
                             "[::1]", "::1%eth0", "1.2.3.4.5", "01234567890123456789012345678901"
                             "234567890123456789"}) {
        CHECK_FALSE(reverse_name(text));
    }
}

// Tests of parse_address_list: RFC 5322 mailboxes, groups, comments, quoting, obsolete forms.

#include <catch2/catch.hpp>

#include "relaygate/message.hpp"

#include <chrono>
#include <string>
#include <vector>

using relaygate::AddressList;
using relaygate::parse_address_list;

namespace {

std::vector<std::string> addresses_of(const AddressList& list)
{
    std::vector<std::string> addresses;
    for (const auto& mailbox : list.mailboxes)
        addresses.push_back(mailbox.address());
    return addresses;
}

}  // namespace

TEST_CASE("well-formed address lists parse to their mailboxes and display names", "[message]")
{
    struct Case {
        const char* input;
        std::vector<std::string> addresses;
        std::string first_name;
    };
    const Case cases[] = {
        // plain addr-spec
        {"ann@example.com", {"ann@example.com"}, ""},
        // name-addr with an atom phrase
        {"Ann Smith <ann@example.com>", {"ann@example.com"}, "Ann Smith"},
        // quoted display name with a comma and an escaped quote
        {"\"Doe, \\\"J\\\"\" <john@example.com>", {"john@example.com"}, "Doe, \"J\""},
        // comments anywhere, nested
        {"(c1) Ann (c2 (nested)) <ann(c3)@(c4)example.com> (c5)", {"ann@example.com"}, "Ann"},
        // quoted local part stays quoted
        {"\"ann smith\"@example.com", {"\"ann smith\"@example.com"}, ""},
        // domain literal
        {"ann@[192.0.2.1]", {"ann@[192.0.2.1]"}, ""},
        // obs-route is ignored
        {"<@relay1.example,@relay2.example:ann@example.com>", {"ann@example.com"}, ""},
        // obs-phrase with a dot
        {"Mr. Smith <smith@example.com>", {"smith@example.com"}, "Mr. Smith"},
        // obs-addr-list empty elements
        {", a@example.com, , b@example.org,", {"a@example.com", "b@example.org"}, ""},
        // RFC 5322 appendix A.1.2
        {"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
         {"mary@x.test", "jdoe@example.org", "one@y.test"}, "Mary Smith"},
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.input)
        {
            AddressList list = parse_address_list(c.input);
            CHECK(list.valid);
            CHECK(list.problem.empty());
            CHECK(addresses_of(list) == c.addresses);
            REQUIRE_FALSE(list.mailboxes.empty());
            CHECK(list.mailboxes[0].display_name == c.first_name);
        }
    }
}

// mimetic reads "Group: a@example.com;" as local part "Group:a" at domain "example.com;"
// (DEPENDENCIES.md section 7); these cases fail under that reading.
TEST_CASE("groups yield their member mailboxes with the right domains", "[message]")
{
    AddressList team = parse_address_list("Team: a@x.example, Bob <b@y.example>;");
    CHECK(team.valid);
    CHECK(addresses_of(team) == std::vector<std::string>{"a@x.example", "b@y.example"});
    CHECK(team.mailboxes[1].display_name == "Bob");
    CHECK(team.mailboxes[0].domain == "x.example");

    // RFC 5322 appendix A.1.3
    AddressList mixed = parse_address_list(
        "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, solo@example.com");
    CHECK(mixed.valid);
    CHECK(addresses_of(mixed) ==
          std::vector<std::string>{"c@a.test", "joe@where.test", "jdoe@one.test",
                                   "solo@example.com"});

    AddressList empty_group = parse_address_list("Undisclosed recipients:;");
    CHECK(empty_group.valid);
    CHECK(empty_group.mailboxes.empty());

    AddressList open_group = parse_address_list("Team: a@x.example");
    CHECK_FALSE(open_group.valid);
    CHECK(open_group.problem == "group \"Team\" is not closed with ;");
    CHECK(addresses_of(open_group) == std::vector<std::string>{"a@x.example"});
}

TEST_CASE("display names are RFC 2047 decoded, in atoms and in quoted strings", "[message]")
{
    AddressList atom = parse_address_list("=?ISO-8859-1?Q?J=F8rgen_Thomsen?= <list@jth.net>");
    CHECK(atom.mailboxes.at(0).display_name == "J\xC3\xB8rgen Thomsen");

    AddressList mixed = parse_address_list("Ville =?ISO-8859-1?Q?Skytt=E4?= <ville@iki.fi>");
    CHECK(mixed.mailboxes.at(0).display_name == "Ville Skytt\xC3\xA4");

    AddressList quoted = parse_address_list("\"=?iso-8859-1?Q?RPM=2DList?=\" <rpm@example.net>");
    CHECK(quoted.mailboxes.at(0).display_name == "RPM-List");
}

TEST_CASE("malformed lists are invalid with a one-line problem and keep what could be read",
          "[message]")
{
    struct Case {
        const char* input;
        std::string problem;
        std::vector<std::string> addresses;
    };
    const Case cases[] = {
        {"", "no address", {}},
        {"foo", "address \"foo\" has no domain", {}},
        {"ann@", "address \"ann@\" has no domain", {}},
        {"<ann@example.com", "missing > after address", {"ann@example.com"}},
        {"ann@example.com>, b@example.org", "unbalanced >", {"ann@example.com", "b@example.org"}},
        {"<>", "empty address <>", {}},
        {"\"unterminated <a@example.com>", "unterminated quoted string", {}},
        {"Ann (comment <ann@example.com>", "unbalanced ( in comment", {}},
        {"a@b@example.com, c@example.com", "unexpected \"@\" after an address",
         {"a@b", "c@example.com"}},
        {"ann@example..com", "address \"ann@example..com\" has a malformed domain",
         {"ann@example..com"}},
        // mail programs write to the bracketed address, so that is the one read
        {"ceo@bank.example <x@evil.example>",
         "display name \"ceo@bank.example\" holds an unquoted @", {"x@evil.example"}},
        {"Ann Smith ann@example.com", "address \"Ann Smith ann@...\" has words before its "
                                      "local part and no angle brackets", {"ann@example.com"}},
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.input)
        {
            AddressList list = parse_address_list(c.input);
            CHECK_FALSE(list.valid);
            CHECK(list.problem == c.problem);
            CHECK(list.problem.find('\n') == std::string::npos);
            CHECK(addresses_of(list) == c.addresses);
        }
    }
}

TEST_CASE("10,000 addresses parse quickly and completely", "[message]")
{
    std::string value;
    for (int i = 0; i < 10000; ++i)
        value += "Name " + std::to_string(i) + " <user" + std::to_string(i) + "@example.com>, ";
    auto start = std::chrono::steady_clock::now();
    AddressList list = parse_address_list(value);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(list.valid);
    REQUIRE(list.mailboxes.size() == 10000);
    CHECK(list.mailboxes[9999].address() == "user9999@example.com");
    CHECK(seconds < 1.0);
}

TEST_CASE("deeply nested comments and a megabyte of brackets neither crash nor hang",
          "[message]")
{
    std::string nested = std::string(100000, '(') + "x" + std::string(100000, ')') + " a@b.example";
    AddressList comments = parse_address_list(nested);
    CHECK(addresses_of(comments) == std::vector<std::string>{"a@b.example"});

    AddressList brackets = parse_address_list(std::string(1 << 20, '<'));
    CHECK_FALSE(brackets.valid);
    CHECK(brackets.problem.size() < 200);
}

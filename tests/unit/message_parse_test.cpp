// Tests of Message::parse: the header/body split, exact bytes, unfolding and defects.

#include <catch2/catch.hpp>

#include "relaygate/message.hpp"

#include <chrono>
#include <string>

using relaygate::Message;

namespace {

bool has_defect_containing(const Message& message, const std::string& text)
{
    for (const std::string& defect : message.defects()) {
        if (defect.find(text) != std::string::npos)
            return true;
    }
    return false;
}

double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("the body starts after the first empty line, with LF, CRLF or both", "[message]")
{
    struct Case {
        const char* name;
        std::string raw;
        std::string body;
    };
    const Case cases[] = {
        {"LF", "A: 1\nB: 2\n\nbody\n\nmore\n", "body\n\nmore\n"},
        {"CRLF", "A: 1\r\nB: 2\r\n\r\nbody\r\n", "body\r\n"},
        {"CRLF header, LF separator", "A: 1\r\nB: 2\r\n\nbody\n", "body\n"},
        {"LF header, CRLF separator", "A: 1\nB: 2\n\r\nbody\n", "body\n"},
        {"empty body", "A: 1\nB: 2\n\n", ""},
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.name)
        {
            Message message = Message::parse(c.raw);
            CHECK(message.body() == c.body);
            CHECK(message.raw() == c.raw);
            CHECK(message.body_offset() == c.raw.size() - c.body.size());
            REQUIRE(message.header().size() == 2);
            CHECK(message.header()[1].value == "2");
            CHECK(message.defects().empty());
        }
    }
}

TEST_CASE("a folded field keeps its exact bytes in raw and is unfolded in value", "[message]")
{
    std::string raw = "Subject: first\r\n\tsecond\r\n  third  \r\nX-Other:value\r\n\r\n";
    Message message = Message::parse(raw);

    REQUIRE(message.header().size() == 2);
    const auto& subject = message.header()[0];
    CHECK(subject.name == "Subject");
    CHECK(subject.raw == "Subject: first\r\n\tsecond\r\n  third  ");
    CHECK(subject.value == "first\tsecond  third");
    CHECK(message.header()[1].raw == "X-Other:value");
    CHECK(message.header()[1].value == "value");
}

TEST_CASE("a field name followed by whitespace before the colon is read (obsolete syntax)",
          "[message]")
{
    Message message = Message::parse("Subject  : hello\n\n");
    REQUIRE(message.first("subject") != nullptr);
    CHECK(message.first("subject")->name == "Subject");
    CHECK(message.first("subject")->value == "hello");
}

TEST_CASE("first() and all() match field names case-insensitively, top first", "[message]")
{
    Message message = Message::parse("received: a\nRECEIVED: b\nReceived: c\nFrom: x@y\n\n");
    auto received = message.all("Received");
    REQUIRE(received.size() == 3);
    CHECK(received[0]->value == "a");
    CHECK(received[2]->value == "c");
    REQUIRE(message.first("rEcEiVeD") != nullptr);
    CHECK(message.first("rEcEiVeD")->value == "a");
    CHECK(message.first("X-Missing") == nullptr);
    CHECK(message.all("X-Missing").empty());
}

TEST_CASE("a leading mbox From_ line is skipped and noted as a defect", "[message]")
{
    std::string raw =
        "From someone@example.com Thu Aug 22 12:36:23 2002\nFrom: a@example.com\n\nhi\n";
    Message message = Message::parse(raw);
    REQUIRE(message.header().size() == 1);
    CHECK(message.header()[0].name == "From");
    CHECK(message.raw() == raw);
    CHECK(has_defect_containing(message, "From_ line"));
}

TEST_CASE("lines without a colon are defects naming the line, not fields", "[message]")
{
    Message message = Message::parse("A: 1\nthis is not a field\nB: 2\n\nbody\n");
    CHECK(message.header().size() == 2);
    CHECK(has_defect_containing(message, "header line 2 has no colon"));
    CHECK(message.body() == "body\n");
}

TEST_CASE("a message without an empty line after its header is all header, with a defect",
          "[message]")
{
    Message message = Message::parse("A: 1\nB: 2");
    CHECK(message.header().size() == 2);
    CHECK(message.header()[1].value == "2");
    CHECK(message.body().empty());
    CHECK(has_defect_containing(message, "not followed by an empty line"));
}

TEST_CASE("empty input, NUL bytes and binary garbage give defects, not crashes", "[message]")
{
    CHECK(has_defect_containing(Message::parse(""), "empty"));

    std::string with_nul("Subject: a\0b\n\nbo\0dy\n", 20);
    Message nul = Message::parse(with_nul);
    CHECK(nul.raw() == with_nul);
    CHECK(has_defect_containing(nul, "NUL byte"));
    CHECK(has_defect_containing(nul, "body contains NUL"));

    std::string garbage;
    for (int i = 0; i < 200000; ++i)
        garbage += static_cast<char>((i * 7919 + 13) % 256);
    Message binary = Message::parse(garbage);
    CHECK(binary.raw() == garbage);
    CHECK_FALSE(binary.defects().empty());
    CHECK(binary.defects().size() <= 101);
}

TEST_CASE("a 1 MB header line and 100,000 fields parse in linear time", "[message]")
{
    std::string long_line = "X-Long: " + std::string(1 << 20, 'a') + "\n\nbody\n";
    auto start = std::chrono::steady_clock::now();
    Message one = Message::parse(long_line);
    CHECK(one.first("X-Long")->value.size() == (1u << 20));

    std::string many;
    for (int i = 0; i < 100000; ++i)
        many += "X-Field-" + std::to_string(i) + ": value\n";
    many += "\nbody\n";
    Message fields = Message::parse(many);
    CHECK(fields.header().size() == 100000);
    CHECK(fields.body() == "body\n");

    std::string folded = "X-Folded: a";
    for (int i = 0; i < 100000; ++i)
        folded += "\n b";
    folded += "\n\n";
    Message deep = Message::parse(folded);
    CHECK(deep.first("X-Folded")->value.size() == 1 + 2 * 100000);
    CHECK(seconds_since(start) < 2.0);
}

TEST_CASE("subject() decodes encoded words and message_id() keeps the angle brackets",
          "[message]")
{
    Message message = Message::parse(
        "Subject: =?iso-8859-1?Q?Multimedia_f=FCr?=\n Preussen\nMessage-ID: <abc@example.com>\n\n");
    CHECK(message.subject() == "Multimedia f\xC3\xBCr Preussen");
    CHECK(message.message_id() == "<abc@example.com>");
    CHECK(Message::parse("A: b\n\n").subject().empty());
}

TEST_CASE("from() reads the first From field and marks zero or several mailboxes invalid",
          "[message]")
{
    auto one = Message::parse("From: Ann <ann@example.com>\nFrom: b@evil.test\n\n").from();
    CHECK(one.valid);
    REQUIRE(one.mailboxes.size() == 1);
    CHECK(one.mailboxes[0].address() == "ann@example.com");

    auto several = Message::parse("From: a@example.com, b@evil.test\n\n").from();
    CHECK_FALSE(several.valid);
    CHECK(several.problem == "From has 2 addresses");
    CHECK(several.mailboxes.size() == 2);

    auto absent = Message::parse("To: a@example.com\n\n").from();
    CHECK_FALSE(absent.valid);
    CHECK(absent.mailboxes.empty());
    CHECK(absent.problem == "no From field");
}

TEST_CASE("ascii_lower lowercases only ASCII and to_crlf normalises every line end",
          "[message]")
{
    CHECK(relaygate::ascii_lower("MiXeD \xC3\x84") == "mixed \xC3\x84");
    CHECK(relaygate::to_crlf("a\nb\r\nc\rd") == "a\r\nb\r\nc\r\nd");
    CHECK(relaygate::to_crlf("\r\r\n\n") == "\r\n\r\n\r\n");
}

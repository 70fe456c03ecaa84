// Tests of the message module over the shared public MIME fixtures.

#include <catch2/catch.hpp>

#include "relaygate/message.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using relaygate::Message;

namespace {

const std::filesystem::path kMimeFixtures = std::filesystem::path(RELAYGATE_TESTDATA) / "mime";

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

// The header of the fixture with its From_ line dropped, the way the mailbox reader hands it.
Message parse_fixture(const std::string& relative)
{
    std::string raw = read_file(kMimeFixtures / relative);
    REQUIRE_FALSE(raw.empty());
    if (raw.rfind("From ", 0) == 0)
        raw.erase(0, raw.find('\n') + 1);
    return Message::parse(raw);
}

}  // namespace

TEST_CASE("every MIME fixture parses, keeps its bytes and splits where the empty line is",
          "[message]")
{
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(kMimeFixtures)) {
        if (!entry.is_regular_file() || entry.path().extension() == ".json")
            continue;
        ++files;
        std::string raw = read_file(entry.path());
        Message message = Message::parse(raw);
        INFO(entry.path().string());
        CHECK(message.raw() == raw);

        std::size_t lf = raw.find("\n\n");
        std::size_t crlf = raw.find("\r\n\r\n");
        std::size_t want = std::min(lf == std::string::npos ? raw.size() : lf + 2,
                                    crlf == std::string::npos ? raw.size() : crlf + 4);
        CHECK(message.body_offset() == want);
        for (const auto& field : message.header())
            CHECK(raw.find(field.raw) != std::string::npos);
    }
    CHECK(files >= 100);
}

TEST_CASE("RFC 2047 subjects of the fixtures decode to the right text", "[message]")
{
    struct Case {
        const char* file;
        const char* subject;
    };
    const Case cases[] = {
        {"spamassassin/mime-subject.txt", "[Demuseum] Re: Multimedia f\xC3\xBCr Preussen"},
        {"spamassassin/nice_cjk_gb2312.2",
         "RE: \xE8\xA3\x85\xE7\xA1\xAC\xE7\xA2\x9F\xE9\x97\xAE\xE9\xA2\x98"},
        // folded after the encoded word: the space of the fold stays
        {"mailparser/nodemailer.eml",
         "Nodemailer is unicode friendly \xE2\x9C\x94 (1476358788189)"},
        {"mailsplit/message.eml", "Nodemailer is unicode friendly \xE2\x9C\x94"},
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.file) { CHECK(parse_fixture(c.file).subject() == c.subject); }
    }
}

TEST_CASE("the From of the fixtures parses to one mailbox with its decoded display name",
          "[message]")
{
    auto from = parse_fixture("spamassassin/mime-subject.txt").from();
    // "From: Stefanie Schwabe stefanie.schwabe@wanadoo.fr" has no angle brackets: a phrase
    // followed by an addr-spec is no RFC 5322 address, but the address in it is read.
    CHECK_FALSE(from.valid);
    REQUIRE(from.mailboxes.size() == 1);
    CHECK(from.mailboxes[0].address() == "stefanie.schwabe@wanadoo.fr");

    auto cjk = parse_fixture("spamassassin/nice_cjk_gb2312.2").from();
    CHECK(cjk.valid);
    REQUIRE(cjk.mailboxes.size() == 1);
    CHECK(cjk.mailboxes[0].address() == "Jason_Lee@quantatw.com");
    // The encoded word sits in a comment, which is no display name.
    CHECK(cjk.mailboxes[0].display_name == "Jason Lee");
}
